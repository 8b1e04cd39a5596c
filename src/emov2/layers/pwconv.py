"""1x1 convolution that runs as a matrix product on channels-last maps.

On a channels-last ``(B, C, H, W)`` map the pixels are already rows of ``C`` contiguous values, so a 1x1 conv is
``F.linear`` on the ``(B, H, W, C)`` view: one GEMM, no layout work, and on CPU measurably faster than the oneDNN
convolution (2 threads, 640 -> 160 channels on 14x14: 0.28 ms against 0.40 ms). Other layouts, and exported graphs
(where ONNX/mobile runtimes want a plain Conv), take the ordinary convolution. Same state dict as ``nn.Conv2d``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .capture import capturing_for_export

__all__ = ["PointwiseConv2d"]


class PointwiseConv2d(nn.Conv2d):
    """``nn.Conv2d(in_channels, out_channels, 1, ...)`` (same signature); (B, C, H, W) -> (B, C_out, H, W)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int] = 1, **kwargs) -> None:
        super().__init__(in_channels, out_channels, kernel_size, **kwargs)
        if self.kernel_size != (1, 1) or self.stride != (1, 1) or self.padding != (0, 0) or self.groups != 1:
            raise ValueError("PointwiseConv2d is a plain 1x1 convolution (stride 1, no padding, no groups)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.permute(0, 2, 3, 1)  # (B, H, W, C): contiguous exactly when x is channels-last
        if tokens.is_contiguous() and not capturing_for_export():
            weight = self.weight.view(self.out_channels, self.in_channels)
            return F.linear(tokens, weight, self.bias).permute(0, 3, 1, 2)  # channels-last (B, C_out, H, W)
        return super().forward(x)
