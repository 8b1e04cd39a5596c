"""Depthwise convolution that skips the kernel taps which can only ever see padding.

On a map smaller than the kernel's reach (e.g. the 2x2 and 1x1 stage-3/4 maps of a 32 px input, where a 5x5
kernel with padding 2 touches mostly zeros), the outer taps multiply padding only. Cropping the kernel to the
taps that can reach real pixels gives the same output and gradients (the cropped taps get zero gradient either
way) at a fraction of the cost, which matters most for the depthwise backward pass in small-image training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DepthwiseConv2d"]


class DepthwiseConv2d(nn.Conv2d):
    """``nn.Conv2d`` (same arguments and state) with the small-map shortcut for stride-1 'same' convolutions."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.kernel_size
        h, w = x.shape[-2:]
        same = self.stride == (1, 1) and self.dilation == (1, 1) and self.padding == (kh // 2, kw // 2)
        small = h <= kh // 2 or w <= kw // 2
        # TorchScript tracing (the legacy ONNX exporter) cannot export a conv whose kernel is a traced slice.
        tracing = torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
        if same and small and self.padding_mode == "zeros" and not tracing:
            rh, rw = min(kh // 2, h - 1), min(kw // 2, w - 1)
            weight = self.weight[:, :, kh // 2 - rh: kh // 2 + rh + 1, kw // 2 - rw: kw // 2 + rw + 1]
            return F.conv2d(x, weight, self.bias, 1, (rh, rw), 1, self.groups)
        return super().forward(x)
