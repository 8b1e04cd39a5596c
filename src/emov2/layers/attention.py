"""Window multi-head self-attention with three partitions: spanning (EMOv2), remote (EMOv1), close (Swin-like).

The map is zero-padded on the right/bottom to a multiple of the window ``w`` (no mask, as the official code),
giving ``n1 x n2`` windows. A *close* window is a contiguous ``w x w`` block; a *remote* window takes pixel
``(i, j)`` to window ``(i mod n1, j mod n2)``, i.e. a ``w x w`` grid strided by ``(n1, n2)`` over the whole map.
*Spanning* attention sums both, sharing one Q/K projection (C -> 2C) and one V projection (C -> M, + activation).

Implementation: the projected maps are flattened to tokens and cut into the windows of every partition by one
``index_select`` (indices from :func:`window_index`, cached per shape); one batched attention runs over all windows;
a second ``index_select`` puts each partition's result back per pixel and the partitions are summed. No tensor has
more than 5 dimensions and no Python branch depends on the map size while exporting, so the same code exports to
ONNX with symbolic height/width, ExecuTorch/XNNPACK and Core ML. On GPU, outside export, windows are cut by
reshape/permute copies instead (``window_cut``; an unaligned map is first padded with the zero-pixel projection):
gather kernels were the largest avoidable cost on an H100, their backward needs atomics, and ``torch.compile`` fuses
permutes into neighbouring kernels.
"""

from __future__ import annotations

import math
from enum import StrEnum

import torch
import torch.nn.functional as F
from torch import nn

from .capture import capturing_for_export, exporting
from .index_cache import cached_index
from .pwconv import PointwiseConv2d

__all__ = ["AttentionMode", "WindowAttention", "window_index"]


class AttentionMode(StrEnum):
    SPANNING = "spanning"
    REMOTE = "remote"
    CLOSE = "close"


def window_index(h: int, w: int, window: int, parts: tuple[bool, ...], device: torch.device | None = None):
    """Gather indices that cut an ``h x w`` token map into windows, and the indices that put them back.

    The map is padded on the right/bottom to ``n1*window x n2*window``; a padded position reads token ``h*w`` (one
    extra row holding the padding value). ``parts`` lists the partitions (``True`` = remote, ``False`` = close).

    Returns:
        gather: (S*n1*n2*window*window,) token index per window position, partitions then windows then the
            window's row-major positions.
        scatter: (S*h*w,) for each partition and each real token, its position in ``gather``'s order.
    Built from ``arange`` arithmetic only, so symbolic (exported) shapes work.
    """
    n1 = (h + window - 1) // window
    n2 = (w + window - 1) // window
    area = window * window
    # 1-D integer arithmetic only (no shape guards when exporting); int32 indices, as Core ML's gather wants.
    t = torch.arange(n1 * n2 * area, dtype=torch.int32, device=device)
    win_id, pos = t // area, _mod(t, area)
    a, b, r, c = win_id // n2, _mod(win_id, n2), pos // window, _mod(pos, window)  # window row/col, row/col inside it
    p = torch.arange(h * w, dtype=torch.int32, device=device)
    y, x = p // w, _mod(p, w)
    gathers, scatters = [], []
    for s, remote in enumerate(parts):
        rows, cols = (r * n1 + a, c * n2 + b) if remote else (a * window + r, b * window + c)
        gathers.append(torch.where((rows < h) & (cols < w), rows * w + cols, h * w))
        if remote:  # pixel (y, x) sits in window (y mod n1, x mod n2) at (y div n1, x div n2)
            win_of, pos_of = _mod(y, n1) * n2 + _mod(x, n2), (y // n1) * window + x // n2
        else:
            win_of, pos_of = (y // window) * n2 + x // window, _mod(y, window) * window + _mod(x, window)
        scatters.append(s * n1 * n2 * area + win_of * area + pos_of)
    return torch.cat(gathers), torch.cat(scatters)


def _to_windows(t: torch.Tensor, b: int, n1: int, n2: int, win: int, remote: bool) -> torch.Tensor:
    """Tokens (B, H*W, C) of a map tiled by ``n1 x n2`` windows -> (B*n1*n2, win*win, C), the order of
    :func:`window_index`: remote window (i, j) holds pixels (row*n1 + i, col*n2 + j), close ones (i*win + row, ...)."""
    c = t.shape[-1]
    if remote:
        t = t.view(b, win, n1, win, n2, c).permute(0, 2, 4, 1, 3, 5)
    else:
        t = t.view(b, n1, win, n2, win, c).permute(0, 1, 3, 2, 4, 5)
    return t.reshape(b * n1 * n2, win * win, c)


def _pad_tokens(t: torch.Tensor, h: int, w: int, hp: int, wp: int, fill: torch.Tensor) -> torch.Tensor:
    """Tokens (B, h*w, C) -> (B, hp*wp, C), the map padded on the right and bottom with the token ``fill`` (C,)."""
    b, _, c = t.shape
    fill = fill.view(1, 1, 1, c)
    t = torch.cat([t.view(b, h, w, c), fill.expand(b, h, wp - w, c)], dim=2)
    return torch.cat([t, fill.expand(b, hp - h, wp, c)], dim=1).view(b, hp * wp, c)


def _mod(t: torch.Tensor, d) -> torch.Tensor:
    """``t % d`` for non-negative ``t``, written with floor division (ONNX export has no remainder by a symbol)."""
    return t - (t // d) * d


class WindowAttention(nn.Module):
    """Window MHSA whose V also expands the width: (B, C, H, W) -> (B, M, H, W).

    Args:
        dim: input channels C (= heads * dim_head).
        dim_out: output channels M of the V projection (λ·C in an i2RMB).
        mode: which windows to attend in; ``spanning`` sums the remote and close results.
        dim_head: channels per head for Q and K; each head's V has ``M / heads`` channels.
        window_size: window side ``w``; ``<= 0`` means one window over the whole (unpadded) map.
        act_layer: activation applied to V.
    """

    def __init__(
        self,
        dim: int,
        dim_out: int,
        *,
        mode: AttentionMode = AttentionMode.SPANNING,
        dim_head: int = 32,
        window_size: int = 7,
        qkv_bias: bool = True,
        act_layer: type[nn.Module] = nn.GELU,
    ) -> None:
        super().__init__()
        if dim % dim_head:
            raise ValueError(f"dim {dim} is not a multiple of dim_head {dim_head}")
        self.num_heads = dim // dim_head
        if dim_out % self.num_heads:
            raise ValueError(f"dim_out {dim_out} is not a multiple of the {self.num_heads} heads")
        self.mode = AttentionMode(mode)
        self.dim_head = dim_head
        self.dim_head_v = dim_out // self.num_heads
        self.window_size = window_size
        self.qk = PointwiseConv2d(dim, 2 * dim, bias=qkv_bias)
        self.v = PointwiseConv2d(dim, dim_out, bias=qkv_bias)
        self.act = act_layer()
        # How windows are cut outside export: "auto" (permute on GPU, gathers on CPU), "permute" or "gather".
        self.window_cut = "auto"

    def extra_repr(self) -> str:
        return f"mode={self.mode.value}, heads={self.num_heads}, window={self.window_size}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        win = self.window_size
        qk = self.qk(x)  # (B, 2C, H, W)
        v = self.act(self.v(x))  # (B, M, H, W)
        qk_t, v_t = qk.flatten(2).transpose(1, 2), v.flatten(2).transpose(1, 2)  # (B, HW, 2C), (B, HW, M)
        if win <= 0 or (not capturing_for_export() and h <= win and w <= win):
            o = self._attend_one_window(x, qk_t, v_t, 0 if win <= 0 else win * win - h * w)
        else:
            o = self._attend_windows(x, qk_t, v_t, h, w)
        return o.view(b, h, w, -1).permute(0, 3, 1, 2)  # (B, M, H, W), channels-last memory

    def _attend_windows(self, x: torch.Tensor, qk_t: torch.Tensor, v_t: torch.Tensor, h, w) -> torch.Tensor:
        """Tokens (B, HW, 2C) and (B, HW, M) -> (B, HW, M), attending in the windows of every partition at once."""
        b, heads, win = qk_t.shape[0], self.num_heads, self.window_size
        parts = self._parts(h, w)
        if self._cut_by_permute(x, h, w):
            return self._attend_windows_permuted(x, qk_t, v_t, h, w, parts)
        gather, scatter = _cached_window_index(h, w, win, parts, x.device)
        if capturing_for_export() or h % win or w % win:
            # Padded positions read one extra token: what a zero pixel projects to (the zero-padded map projected),
            # so the 1x1 convs never run on padding.
            q_pad, v_pad = self._project_zero(x)
            qk_t = torch.cat([qk_t, q_pad.view(1, 1, -1).expand(b, 1, -1)], dim=1)
            v_t = torch.cat([v_t, v_pad.view(1, 1, -1).expand(b, 1, -1)], dim=1)
        qk_t, v_t = qk_t.index_select(1, gather), v_t.index_select(1, gather)  # (B, S*n1*n2*w*w, 2C | M)
        qk_w = qk_t.reshape(-1, win * win, 2, heads, self.dim_head).permute(2, 0, 3, 1, 4)  # 2 x (B*n, heads, L, D)
        v_w = v_t.reshape(-1, win * win, heads, self.dim_head_v).transpose(1, 2)  # (B*n, heads, L, Dv)
        o = _attend(qk_w[0], qk_w[1], v_w)
        o = o.transpose(1, 2).reshape(b, -1, v_t.shape[-1]).index_select(1, scatter)  # (B, S*HW, M) per pixel
        if len(parts) == 2:  # remote + close: the two halves added (an Add, where a ReduceSum over the partition
            remote, close = o.view(b, 2, -1, o.shape[-1]).unbind(1)  # axis ran 10x slower in ONNX Runtime)
            return remote + close
        return o * 2 if self.mode is AttentionMode.SPANNING else o  # one window: remote + close = 2 x attention

    def _cut_by_permute(self, x: torch.Tensor, h, w) -> bool:
        """Whether to cut windows by reshape/permute rather than gathers: on GPU (strided copies beat gather kernels,
        their backward needs no atomics, and torch.compile fuses them), never while exporting."""
        if capturing_for_export():
            return False
        return x.is_cuda if self.window_cut == "auto" else self.window_cut == "permute"

    def _attend_windows_permuted(self, x: torch.Tensor, qk_t: torch.Tensor, v_t: torch.Tensor, h: int, w: int,
                                 parts: tuple[bool, ...]) -> torch.Tensor:
        """As :meth:`_attend_windows`, cutting windows by reshape/permute copies: the token map is first padded
        on the right/bottom with the zero-pixel projection; each partition's windows are attended on their own and
        go back through the inverse permutes, adding up; the padding is cropped at the end."""
        b, heads, win = qk_t.shape[0], self.num_heads, self.window_size
        n1, n2, area = -(-h // win), -(-w // win), win * win
        hp, wp = n1 * win, n2 * win
        if (hp, wp) != (h, w):
            q_pad, v_pad = self._project_zero(x)
            qk_t, v_t = _pad_tokens(qk_t, h, w, hp, wp, q_pad), _pad_tokens(v_t, h, w, hp, wp, v_pad)
        out = None
        for remote in parts:
            qk_w = _to_windows(qk_t, b, n1, n2, win, remote)  # (B*n1*n2, L, 2C)
            v_w = _to_windows(v_t, b, n1, n2, win, remote)  # (B*n1*n2, L, M)
            q, k = qk_w.view(-1, area, 2, heads, self.dim_head).permute(2, 0, 3, 1, 4)  # (B*n, heads, L, D)
            o = _attend(q, k, v_w.view(-1, area, heads, self.dim_head_v).transpose(1, 2))
            o = o.transpose(1, 2).reshape(b, n1, n2, win, win, -1)  # (B, n1, n2, row, col, M)
            if remote:  # pixel (row*n1 + i, col*n2 + j)
                o = o.permute(0, 3, 1, 4, 2, 5)  # (B, row, n1, col, n2, M)
            else:  # pixel (i*win + row, j*win + col)
                o = o.permute(0, 1, 3, 2, 4, 5)  # (B, n1, row, n2, col, M)
            # the first partition is copied to row-major pixels; the next adds into that layout (one kernel)
            out = o.reshape(b, hp * wp, -1) if out is None else (out.view(o.shape) + o).view(b, hp * wp, -1)
        if (hp, wp) != (h, w):
            out = out.view(b, hp, wp, -1)[:, :h, :w].reshape(b, h * w, -1)
        return out * 2 if len(parts) == 1 and self.mode is AttentionMode.SPANNING else out

    def _attend_one_window(self, x: torch.Tensor, qk_t: torch.Tensor, v_t: torch.Tensor, n_pad: int) -> torch.Tensor:
        """The whole map in one window padded with ``n_pad`` tokens: (B, L, 2C), (B, L, M) -> (B, L, M).

        The padding tokens are all the same key/value, so they enter as one key whose softmax weight counts
        ``n_pad`` times (``+ log n_pad`` on its logit), and only the real tokens are queried: the same result as
        attending over the padded window, at a fraction of the cost on small maps (e.g. 2x2 in a 7x7 window).
        """
        b, heads = qk_t.shape[0], self.num_heads
        q, k = qk_t.reshape(b, -1, 2, heads, self.dim_head).permute(2, 0, 3, 1, 4)  # (B, heads, L, D)
        vv = v_t.reshape(b, -1, heads, self.dim_head_v).transpose(1, 2)  # (B, heads, L, Dv)
        bias = None
        if n_pad:
            q_pad, v_pad = self._project_zero(x)
            k_pad = q_pad.view(2, heads, 1, self.dim_head)[1].expand(b, heads, 1, self.dim_head)
            k = torch.cat([k, k_pad], dim=2)
            vv = torch.cat([vv, v_pad.view(1, heads, 1, self.dim_head_v).expand(b, heads, 1, self.dim_head_v)], dim=2)
            bias = torch.zeros(1, k.shape[2], dtype=q.dtype, device=q.device)  # (1, L): SDPA wants >= 2-D masks
            bias[:, -1] = math.log(n_pad)
        o = _attend(q, k, vv, bias).transpose(1, 2).reshape(b, q.shape[2], -1)
        return o * 2 if self.mode is AttentionMode.SPANNING else o  # one window: remote + close = 2 x attention

    def _project_zero(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What a zero pixel projects to: (2C,) for Q/K and (M,) for V (the biases, through V's activation)."""
        zero = x.new_zeros(1, x.shape[1], 1, 1)
        return self.qk(zero).view(-1), self.act(self.v(zero)).view(-1)

    def _parts(self, h: int, w: int) -> tuple[bool, ...]:
        """Partitions to attend in: (remote, close) for spanning, unless one window covers the map."""
        if self.mode is AttentionMode.SPANNING:
            if capturing_for_export() or h > self.window_size or w > self.window_size:
                return (True, False)
            return (False,)  # a single window: remote == close, attend once and double
        return (self.mode is AttentionMode.REMOTE,)


def _cached_window_index(h, w, window: int, parts: tuple[bool, ...], device: torch.device):
    """``window_index`` memoised per shape; computed in-graph under ``torch.export``/``torch.compile`` (symbolic
    sizes), a constant in TorchScript traces (whose sizes are concrete)."""
    if exporting() or torch.compiler.is_compiling():  # sizes may be symbolic: no int() on them
        return window_index(h, w, window, parts, device)
    return cached_index(("window", int(h), int(w), window, parts, device),
                        lambda: window_index(int(h), int(w), window, parts, device))


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None = None, *,
            sdpa: bool | None = None) -> torch.Tensor:
    """softmax(q k^T / sqrt(D) + bias) v for (N, heads, Lq, D) q, (N, heads, L, D) k, (N, heads, L, Dv) v and
    an optional (1, L) logit bias.

    SDPA's fused kernels on GPU; on CPU plain matmuls, which beat SDPA's math fallback (taken there because V's
    head width differs from Q/K's) and export to portable ops.
    """
    if q.is_cuda if sdpa is None else sdpa:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    if bias is not None:
        attn = attn + bias
    return attn.softmax(dim=-1) @ v
