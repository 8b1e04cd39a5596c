"""Window multi-head self-attention with three partitions: spanning (EMOv2), remote (EMOv1), close (Swin-like).

The map is zero-padded on the right/bottom to a multiple of the window ``w`` (no mask, as the official code),
giving ``n1 x n2`` windows. A *close* window is a contiguous ``w x w`` block; a *remote* window takes pixel
``(i, j)`` to window ``(i mod n1, j mod n2)``, i.e. a ``w x w`` grid strided by ``(n1, n2)`` over the whole map.
*Spanning* attention sums both, sharing one Q/K projection (C -> 2C) and one V projection (C -> M, + activation).
"""

from __future__ import annotations

from enum import StrEnum

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AttentionMode", "WindowAttention", "window_partition", "window_reverse"]


class AttentionMode(StrEnum):
    SPANNING = "spanning"
    REMOTE = "remote"
    CLOSE = "close"


def window_partition(t: torch.Tensor, heads: int, window: int, remote: bool) -> torch.Tensor:
    """(B, heads*D, n1*w, n2*w) -> (B, n1, n2, heads, w, w, D) as a strided view (no copy)."""
    b, c, hp, wp = t.shape
    n1, n2 = hp // window, wp // window
    if remote:  # row = h1 * n1 + i: window index is the fast axis
        return t.view(b, heads, c // heads, window, n1, window, n2).permute(0, 4, 6, 1, 3, 5, 2)
    return t.view(b, heads, c // heads, n1, window, n2, window).permute(0, 3, 5, 1, 4, 6, 2)


def window_reverse(o: torch.Tensor, remote: bool) -> torch.Tensor:
    """(B, n1, n2, heads, w, w, D) -> (B, n1*w, n2*w, heads*D) channels-last map."""
    b, n1, n2, heads, w, _, d = o.shape
    if remote:
        o = o.permute(0, 4, 1, 5, 2, 3, 6)  # (B, h1, n1, w1, n2, heads, D)
    else:
        o = o.permute(0, 1, 4, 2, 5, 3, 6)  # (B, n1, h1, n2, w1, heads, D)
    return o.reshape(b, n1 * w, n2 * w, heads * d)


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
        self.window_size = window_size
        self.qk = nn.Conv2d(dim, 2 * dim, 1, bias=qkv_bias)
        self.v = nn.Conv2d(dim, dim_out, 1, bias=qkv_bias)
        self.act = act_layer()

    def extra_repr(self) -> str:
        return f"mode={self.mode.value}, heads={self.num_heads}, window={self.window_size}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w = x.shape
        win_h = win_w = self.window_size
        if self.window_size <= 0:
            win_h, win_w = h, w
        pad_b, pad_r = (-h) % win_h, (-w) % win_w
        # Project the unpadded map, then pad with what a zero token projects to (the biases): the same result
        # as projecting the zero-padded map, without spending the 1x1 convs on padding.
        qk = _pad_with(self.qk(x), self.qk.bias, pad_b, pad_r)
        v_pad = None if self.v.bias is None else self.act(self.v.bias)
        v = _pad_with(self.act(self.v(x)), v_pad, pad_b, pad_r)
        if win_h != win_w:  # global window on a non-square map: one window, both partitions coincide
            out = self._attend_global(qk, v)
        else:
            out = self._attend_windows(qk, v, win_h)
        if pad_b or pad_r:
            out = out[:, :h, :w]
        return out.permute(0, 3, 1, 2)  # (B, H, W, M) -> (B, M, H, W), channels-last memory

    def _attend_global(self, qk: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        b, _, hp, wp = qk.shape
        heads = self.num_heads
        qk = qk.reshape(b, 2 * heads, self.dim_head, hp * wp).transpose(-1, -2)
        v = v.reshape(b, heads, -1, hp * wp).transpose(-1, -2)
        o = F.scaled_dot_product_attention(qk[:, :heads], qk[:, heads:], v)  # (B, heads, L, Dv)
        if self.mode is AttentionMode.SPANNING:
            o = o * 2
        return o.permute(0, 2, 1, 3).reshape(b, hp, wp, -1)

    def _attend_windows(self, qk: torch.Tensor, v: torch.Tensor, win: int) -> torch.Tensor:
        heads = self.num_heads
        b, _, hp, wp = qk.shape
        n1, n2 = hp // win, wp // win
        if self.mode is AttentionMode.SPANNING and not (n1 == 1 and n2 == 1):
            parts = (True, False)  # remote, close: both attend in one batched call
        else:  # one partition (a single window makes remote == close)
            parts = (self.mode is AttentionMode.REMOTE,)
        s = len(parts)
        qk_w = torch.stack([window_partition(qk, 2 * heads, win, r) for r in parts])
        v_w = torch.stack([window_partition(v, heads, win, r) for r in parts])
        qk_w = qk_w.reshape(s * b * n1 * n2, 2 * heads, win * win, self.dim_head)
        v_w = v_w.reshape(s * b * n1 * n2, heads, win * win, -1)
        o = F.scaled_dot_product_attention(qk_w[:, :heads], qk_w[:, heads:], v_w)
        o = o.view(s, b, n1, n2, heads, win, win, -1)
        if s == 2:
            return window_reverse(o[0], remote=True) + window_reverse(o[1], remote=False)
        out = window_reverse(o[0], remote=parts[0])
        if self.mode is AttentionMode.SPANNING:  # single window: remote + close == 2 * attention
            out = out * 2
        return out


def _pad_with(t: torch.Tensor, value: torch.Tensor | None, pad_b: int, pad_r: int) -> torch.Tensor:
    """Pad (B, C, H, W) on the right/bottom with a per-channel constant (zeros when ``value`` is None)."""
    if not (pad_b or pad_r):
        return t
    if value is None:
        return F.pad(t, (0, pad_r, 0, pad_b))
    b, c, h, w = t.shape
    fill = value.view(1, c, 1, 1).to(t.dtype)
    if pad_r:
        t = torch.cat([t, fill.expand(b, c, h, pad_r)], dim=3)
    if pad_b:
        t = torch.cat([t, fill.expand(b, c, pad_b, w + pad_r)], dim=2)
    return t
