"""Depthwise convolution with a fast path for tiny maps.

On the 4x4, 2x2 and 1x1 maps of small inputs (stages 2-4 of a 32 px image), a 5x5 depthwise kernel mostly
multiplies padding, and PyTorch's CPU depthwise kernels (above all their backward pass) run far below the speed
of a matrix product. There the convolution is computed as what it is on a map of ``S`` pixels: per channel, one
``(S_out x S)`` matrix whose entries are kernel taps (zero where a tap would read padding), applied with one
batched matmul; the tap index comes from a memo of plain integers per map size. Same sums and gradients; on larger
maps the ordinary convolution runs. ``exportable`` layers (fixed at construction; default
``timm.layers.is_exportable()``) always run the ordinary convolution: mobile delegates want a conv with constant
weights, and symbolic sizes cannot pick a path. Dilated or unevenly strided/padded convs never take the matmul.
"""


import functools

import torch
import torch.nn.functional as F
from timm.layers import is_exportable
from torch import nn

__all__ = ["MAX_MATMUL_PIXELS", "DepthwiseConv2d", "depthwise_conv2d", "tap_index"]

MAX_MATMUL_PIXELS = 16  # maps up to 4x4: measured faster as a matmul (forward + backward) than the CPU kernels


def tap_index(h: int, w: int, kernel: int, stride: int, padding: int,
              device: torch.device | None = None) -> tuple[torch.Tensor, int, int]:
    """Index ``(S_out, S_in)`` into a channel's flattened ``k*k`` taps plus one zero slot (index ``k*k``): which tap
    links output pixel ``o`` to input pixel ``i``; also returns the output height and width."""
    ho = (h + 2 * padding - kernel) // stride + 1
    wo = (w + 2 * padding - kernel) // stride + 1
    ky = torch.arange(h, device=device)[None, :] - (torch.arange(ho, device=device)[:, None] * stride - padding)
    kx = torch.arange(w, device=device)[None, :] - (torch.arange(wo, device=device)[:, None] * stride - padding)
    inside = ((ky >= 0) & (ky < kernel))[:, None, :, None] & ((kx >= 0) & (kx < kernel))[None, :, None, :]
    tap = (ky * kernel)[:, None, :, None] + kx[None, :, None, :]  # (ho, wo, h, w)
    return torch.where(inside, tap, kernel * kernel).view(ho * wo, h * w), ho, wo


@functools.lru_cache(maxsize=256)
def _tap_table(h: int, w: int, kernel: int, stride: int, padding: int) -> tuple[tuple[int, ...], int, int]:
    """:func:`tap_index` as plain integers, memoised per size (integers only: no tensor, device or trace state)."""
    ho = (h + 2 * padding - kernel) // stride + 1
    wo = (w + 2 * padding - kernel) // stride + 1
    table = []
    for oy in range(ho):
        for ox in range(wo):
            for iy in range(h):
                for ix in range(w):
                    ky, kx = iy - (oy * stride - padding), ix - (ox * stride - padding)
                    inside = 0 <= ky < kernel and 0 <= kx < kernel
                    table.append(ky * kernel + kx if inside else kernel * kernel)
    return tuple(table), ho, wo


def depthwise_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int,
                     padding: int, max_pixels: int = MAX_MATMUL_PIXELS) -> torch.Tensor:
    """Depthwise conv of (B, C, H, W) with a square (C, 1, k, k) kernel; a matmul on maps of <= 16 pixels."""
    h, w = x.shape[-2], x.shape[-1]
    c, k = weight.shape[0], weight.shape[-1]
    if h * w > max_pixels:
        return F.conv2d(x, weight, bias, stride, padding, 1, c)
    if torch.jit.is_scripting():
        index, ho, wo = tap_index(h, w, k, stride, padding, x.device)
    else:  # the same index from a memo of integers: one tensor op instead of ~25 small ones (~0.1 ms on CPU)
        table, ho, wo = _tap_table(h, w, k, stride, padding)
        index = torch.tensor(table, device=x.device)
    taps = torch.cat([weight.reshape(c, k * k), weight.new_zeros(c, 1)], dim=1)  # (C, k*k + 1)
    # index_select on the flat index: 3x faster than advanced indexing (taps[:, index]), 2x with its backward
    matrix = taps.index_select(1, index.view(-1)).view(c, ho * wo, h * w)  # (C, S_out, S_in)
    b = x.shape[0]
    y = torch.bmm(x.reshape(b, c, h * w).transpose(0, 1), matrix.transpose(1, 2))  # (C, B, S_out)
    y = y.transpose(0, 1).reshape(b, c, ho, wo)
    return y if bias is None else y + bias.view(1, c, 1, 1)


torch.fx.wrap("depthwise_conv2d")  # FX: a leaf call (its branch reads the map size at run time)


class DepthwiseConv2d(nn.Conv2d):
    """``nn.Conv2d`` (same arguments and state) that runs as a per-channel matmul on maps of at most 16 pixels."""

    exportable: torch.jit.Final[bool]
    matmul_ok: torch.jit.Final[bool]
    square_stride: torch.jit.Final[int]
    square_padding: torch.jit.Final[int]

    def __init__(self, *args, exportable: bool | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.exportable = is_exportable() if exportable is None else exportable
        k, s, p = self.kernel_size, self.stride, self.padding
        self.matmul_ok = (
            k[0] == k[1] and s[0] == s[1] and isinstance(p, tuple) and p[0] == p[1] and self.dilation == (1, 1)
            and self.padding_mode == "zeros" and self.groups == self.in_channels == self.out_channels
        )
        self.square_stride = s[0]
        self.square_padding = p[0] if self.matmul_ok else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.exportable or not self.matmul_ok:
            return self._conv_forward(x, self.weight, self.bias)
        return depthwise_conv2d(x, self.weight, self.bias, self.square_stride, self.square_padding)
