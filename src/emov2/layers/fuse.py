"""Exact folds of inference-time affine layers into neighbouring convolutions."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["bn_scale_shift", "fold_affine_before_conv", "fold_bn_after_conv", "fold_scale_after_conv"]


@torch.no_grad()
def bn_scale_shift(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode BatchNorm as ``x * scale + shift`` (per channel)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


def _new_conv(conv: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor) -> nn.Conv2d:
    fused = nn.Conv2d(
        conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding,
        dilation=conv.dilation, groups=conv.groups, bias=True, padding_mode=conv.padding_mode,
        device=weight.device, dtype=weight.dtype,
    )
    fused.weight.copy_(weight)
    fused.bias.copy_(bias)
    return fused


@torch.no_grad()
def fold_bn_after_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """``bn(conv(x))`` as one conv (any kernel, groups, padding)."""
    scale, shift = bn_scale_shift(bn)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(shift)
    return _new_conv(conv, conv.weight * scale.view(-1, 1, 1, 1), bias * scale + shift)


@torch.no_grad()
def fold_scale_after_conv(conv: nn.Conv2d, scale: torch.Tensor) -> nn.Conv2d:
    """``conv(x) * scale`` (per output channel) as one conv."""
    bias = None if conv.bias is None else conv.bias * scale
    fused = _new_conv(conv, conv.weight * scale.view(-1, 1, 1, 1), bias if bias is not None else scale * 0)
    if conv.bias is None:
        fused.bias = None
    return fused


@torch.no_grad()
def fold_affine_before_conv(conv: nn.Conv2d, scale: torch.Tensor, shift: torch.Tensor) -> nn.Conv2d:
    """``conv(x * scale + shift)`` as one conv; only for unpadded 1x1 convs without groups (the shift would
    otherwise also reach padded positions)."""
    if conv.kernel_size != (1, 1) or conv.groups != 1:
        raise ValueError("an affine map folds exactly only into a 1x1 conv without groups")
    w = conv.weight
    bias = conv.bias if conv.bias is not None else torch.zeros(w.shape[0], device=w.device, dtype=w.dtype)
    return _new_conv(conv, w * scale.view(1, -1, 1, 1), bias + w.flatten(1) @ shift)
