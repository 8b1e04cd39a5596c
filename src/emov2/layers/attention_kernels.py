"""The fast implementations of :class:`~emov2.layers.WindowAttention` (``WindowAttention.forward_reference`` is
the definition they are tested against, values and gradients, in float64).

Every kernel takes the projected maps ``qk`` (B, 2C, *S) and ``v`` (B, M, *S) and the two padding tokens (what a
zero pixel projects to: the Q/K bias and V's bias, activated by :func:`activate` where it is used), and returns
(B, M, *S) in channels-last memory.
The 1x1 convs never run on padding: padded positions read the padding tokens.

* :func:`attend_one_window` - the map fits one window. The padding tokens are all the same key/value, so they enter
  as one key whose softmax weight counts ``n_pad`` times (``+ log n_pad`` on its logit), and only real tokens are
  queried; in spanning mode the remote and close windows coincide, so it attends once and doubles.
* :func:`attend_permute` - windows cut by reshape/permute copies (one ``cat`` of the partitions' strided views),
  one batched attention, each partition's result permuted back and added (the eager kernel on CPU and GPU: no
  index tensors, strided copies that ``torch.compile`` fuses, no atomics in the backward). Its
  Python branches on the map size are guards under ``torch.compile``; ``torch.export`` with a symbolic height or
  width needs the gather kernel.
* :func:`attend_gather` - windows of every partition cut by one ``index_select`` from in-graph indices, one
  batched attention, one ``index_select`` back. No tensor has more than 5 dimensions and no Python branch
  depends on a symbolic size, so it exports with dynamic height/width to ONNX, ExecuTorch and Core ML.

A map that fits one window takes :func:`attend_one_window` in both fast kernels whenever its size is a concrete
integer (always in eager; in exported graphs with static sizes, so an exported 224-px model attends its 7x7
stage-4 map once); with a symbolic size the gather kernel attends both (coinciding) partitions.
"""

import math

import torch
import torch.nn.functional as F

from .window import _prod, window_grid, window_index

__all__ = [
    "activate", "attend", "attend_gather", "attend_one_window", "attend_permute", "effective_window", "fits_one_window",
]


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None, fused: bool):
    """softmax(q k^T / sqrt(D) + bias) v for (N, heads, Lq, D) q, (N, heads, L, D) k, (N, heads, L, Dv) v and an
    optional (1, L) logit bias. ``fused``: ``F.scaled_dot_product_attention`` (flash/efficient kernels on GPU);
    else plain matmuls, which beat SDPA's math fallback on CPU (taken there because Dv != D) and export to
    portable ops."""
    if fused:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    if bias is not None:
        attn = attn + bias
    return attn.softmax(dim=-1) @ v


def activate(t: torch.Tensor, act: str) -> torch.Tensor:
    """V's activation on the padding token, applied only where a map is padded (``act`` names the layer's
    activation; ``""``: ``t`` is already activated). Even on a 240-vector an erf GELU costs ~20 us on CPU."""
    if act == "gelu":
        return F.gelu(t)
    if act == "gelu_tanh":
        return F.gelu(t, approximate="tanh")
    if act == "silu":
        return F.silu(t)
    if act == "relu":
        return F.relu(t)
    return t


def effective_window(size: list[int], window: list[int]) -> list[int]:
    """The window per axis, a side ``<= 0`` standing for the whole axis."""
    return [s if w <= 0 else w for s, w in zip(size, window, strict=True)]


def fits_one_window(size: list[int], window: list[int], static_only: bool = False) -> bool:
    """Whether the map fits one window; ``static_only``: and its sizes are concrete integers (no symbolic size is
    compared, so ``torch.export`` records no guard)."""
    for s, w in zip(size, window, strict=True):
        if w > 0 and ((static_only and not isinstance(s, int)) or s > w):
            return False
    return True


def _to_channels_first(o: torch.Tensor, b: int, size: list[int]) -> torch.Tensor:
    """Tokens (B, prod(S), M) -> (B, M, *S), a permuted view (channels-last memory)."""
    d = len(size)
    return o.view([b] + size + [o.shape[-1]]).permute([0, d + 1] + list(range(1, d + 1)))


def attend_one_window(
    qk: torch.Tensor, v: torch.Tensor, pad_qk: torch.Tensor, pad_v: torch.Tensor, act: str, window: list[int],
    heads: int, double: bool, fused: bool,
) -> torch.Tensor:
    """The whole map (B, 2C | M, *S) as one window padded to ``window``; ``double`` for spanning attention."""
    b, c2, m = qk.shape[0], qk.shape[1], v.shape[1]
    size = list(qk.shape[2:])
    dh, dv = c2 // (2 * heads), m // heads
    n_pad = _prod(effective_window(size, window)) - _prod(size)
    qk_t = qk.flatten(2).transpose(1, 2).reshape(b, -1, 2, heads, dh)  # (B, L, 2, heads, D)
    q, k = qk_t.permute(2, 0, 3, 1, 4).unbind(0)  # (B, heads, L, D)
    vv = v.flatten(2).transpose(1, 2).reshape(b, -1, heads, dv).transpose(1, 2)  # (B, heads, L, Dv)
    bias: torch.Tensor | None = None
    if n_pad > 0:
        k = torch.cat([k, pad_qk.view(2, heads, 1, dh)[1].expand(b, heads, 1, dh)], dim=2)
        vv = torch.cat([vv, activate(pad_v, act).view(1, heads, 1, dv).expand(b, heads, 1, dv)], dim=2)
        bias = torch.zeros(1, k.shape[2], dtype=q.dtype, device=q.device)  # (1, L + 1): SDPA wants >= 2-D masks
        bias[:, -1] = math.log(n_pad)
    o = attend(q, k, vv, bias, fused).transpose(1, 2).reshape(b, q.shape[2], -1)  # (B, L, M)
    return _to_channels_first(o * 2 if double else o, b, size)


def _pad_tokens(t: torch.Tensor, size: list[int], padded: list[int], fill: torch.Tensor) -> torch.Tensor:
    """Tokens (B, *size, C) -> (B, *padded, C), padded at the end of every axis with the token ``fill`` (C,)."""
    c = t.shape[-1]
    for i in range(len(size) - 1, -1, -1):
        if padded[i] > size[i]:
            shape = list(t.shape)
            shape[i + 1] = padded[i] - size[i]
            t = torch.cat([t, fill.view([1] * (len(size) + 1) + [c]).expand(shape)], dim=i + 1)
    return t


def _cut(t: torch.Tensor, window: list[int], partitions: list[bool]) -> torch.Tensor:
    """Tokens (B, *S, C) -> the windows of every partition, (P * B * N, L, C): one copy (``cat`` or ``reshape``)
    from the strided window views."""
    area, c = _prod(window), t.shape[-1]
    if len(partitions) == 1:
        return window_grid(t, window, partitions[0]).reshape(-1, area, c)
    return torch.cat([window_grid(t, window, remote) for remote in partitions]).view(-1, area, c)


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    """(B, C, *S) -> the (B, *S, C) view."""
    return x.permute(0, 2, 3, 1) if x.dim() == 4 else x.permute(0, 2, 3, 4, 1)


def attend_permute(
    qk: torch.Tensor, v: torch.Tensor, pad_qk: torch.Tensor, pad_v: torch.Tensor, act: str, window: list[int],
    partitions: list[bool], heads: int, fused: bool,
) -> torch.Tensor:
    """Windows cut by reshape/permute copies, the partitions attended in one batch and added back in pixel order."""
    b, c2, m = qk.shape[0], qk.shape[1], v.shape[1]
    size = list(qk.shape[2:])
    if fits_one_window(size, window):  # symbolic sizes (torch.compile's dynamic shapes) are guarded here
        return attend_one_window(qk, v, pad_qk, pad_v, act, window, heads, len(partitions) == 2, fused)
    d = len(size)
    win = effective_window(size, window)
    area = _prod(win)
    counts = [-(-s // w) for s, w in zip(size, win, strict=True)]
    padded = [n * w for n, w in zip(counts, win, strict=True)]
    qk_t, v_t = _channels_last(qk), _channels_last(v)  # (B, *S, 2C | M) views
    if padded != size:
        qk_t, v_t = _pad_tokens(qk_t, size, padded, pad_qk), _pad_tokens(v_t, size, padded, activate(pad_v, act))
    qk_w, v_w = _cut(qk_t, win, partitions), _cut(v_t, win, partitions)  # (P*B*N, L, 2C | M)
    q, k = qk_w.view(-1, area, 2, heads, c2 // (2 * heads)).permute(2, 0, 3, 1, 4).unbind(0)  # (P*B*N, h, L, D)
    o = attend(q, k, v_w.view(-1, area, heads, m // heads).transpose(1, 2), None, fused)
    o = o.transpose(1, 2).reshape([len(partitions), b] + counts + win + [m])  # (P, B, n_1..n_d, w_1..w_d, M)
    out: torch.Tensor | None = None
    for remote, oj in zip(partitions, o.unbind(0), strict=True):
        # back to pixel order: remote pixel r*n + a sits at axes (w_i, n_i), close pixel a*w + r at (n_i, w_i)
        order: list[int] = [0]
        for i in range(d):
            order += [1 + d + i, 1 + i] if remote else [1 + i, 1 + d + i]
        oj = oj.permute(order + [2 * d + 1])
        # the first partition is copied to pixel order; the next adds into that layout (one kernel)
        out = oj.contiguous() if out is None else out.view(oj.shape) + oj
    assert out is not None
    out = out.view([b] + padded + [m])  # (B, *S', M)
    if padded != size:
        for i in range(d):
            out = out.narrow(i + 1, 0, size[i])
        out = out.contiguous()
    return out.permute([0, d + 1] + list(range(1, d + 1)))  # (B, M, *S), channels-last memory


def attend_gather(
    qk: torch.Tensor, v: torch.Tensor, pad_qk: torch.Tensor, pad_v: torch.Tensor, act: str, window: list[int],
    partitions: list[bool], heads: int, fused: bool,
) -> torch.Tensor:
    """Windows of every partition cut by one gather, attended in one batch, put back by a second gather."""
    b, c2, m = qk.shape[0], qk.shape[1], v.shape[1]
    size = list(qk.shape[2:])
    if fits_one_window(size, window, static_only=True):
        return attend_one_window(qk, v, pad_qk, pad_v, act, window, heads, len(partitions) == 2, fused)
    win = effective_window(size, window)
    area = _prod(win)
    gather, scatter = window_index(size, win, partitions, qk.device)
    qk_t = qk.flatten(2).transpose(1, 2)  # (B, prod(S), 2C)
    v_t = v.flatten(2).transpose(1, 2)  # (B, prod(S), M)
    aligned = True
    for s, w in zip(size, win, strict=True):
        aligned = aligned and isinstance(s, int) and s % w == 0
    if not aligned:  # padded positions read one extra token: the padding value
        qk_t = torch.cat([qk_t, pad_qk.view(1, 1, -1).expand(b, 1, c2)], dim=1)
        v_t = torch.cat([v_t, activate(pad_v, act).view(1, 1, -1).expand(b, 1, m)], dim=1)
    qk_t, v_t = qk_t.index_select(1, gather), v_t.index_select(1, gather)  # (B, P*N*L, 2C | M)
    q, k = qk_t.reshape(-1, area, 2, heads, c2 // (2 * heads)).permute(2, 0, 3, 1, 4).unbind(0)  # (B*P*N, heads, L, D)
    vw = v_t.reshape(-1, area, heads, m // heads).transpose(1, 2)  # (B*P*N, heads, L, Dv)
    o = attend(q, k, vw, None, fused)
    o = o.transpose(1, 2).reshape(b, -1, m).index_select(1, scatter)  # (B, P*prod(S), M) per pixel
    if len(partitions) == 2:  # remote + close: the halves added (an Add; a ReduceSum over the partition axis
        remote, close = o.view(b, 2, -1, m).unbind(1)  # ran 10x slower in ONNX Runtime)
        o = remote + close
    return _to_channels_first(o, b, size)
