"""Exact folds of inference-time affine layers into neighbouring convolutions (2-D and 3-D)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["bn_scale_shift", "fold_affine_before_conv", "fold_bn_after_conv", "fold_scale_after_conv"]


@torch.no_grad()
def bn_scale_shift(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode BatchNorm as ``x * scale + shift`` (per channel)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


def _per_out(t: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """A per-output-channel vector shaped to broadcast against a conv weight (O, I, k...)."""
    return t.view(-1, *[1] * (weight.dim() - 1))


def _new_conv(conv: nn.modules.conv._ConvNd, weight: torch.Tensor, bias: torch.Tensor) -> nn.modules.conv._ConvNd:
    kwargs = {"exportable": conv.exportable} if hasattr(conv, "exportable") else {}
    fused = type(conv)(  # keeps subclasses such as DepthwiseConv2d and their settings
        conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding,
        dilation=conv.dilation, groups=conv.groups, bias=True, padding_mode=conv.padding_mode,
        device=weight.device, dtype=weight.dtype, **kwargs,
    )
    fused.weight.copy_(weight)
    fused.bias.copy_(bias)
    return fused


@torch.no_grad()
def fold_bn_after_conv(conv: nn.modules.conv._ConvNd, bn: nn.modules.batchnorm._BatchNorm) -> nn.Module:
    """``bn(conv(x))`` as one conv (any kernel, groups, padding)."""
    scale, shift = bn_scale_shift(bn)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(shift)
    return _new_conv(conv, conv.weight * _per_out(scale, conv.weight), bias * scale + shift)


@torch.no_grad()
def fold_scale_after_conv(conv: nn.modules.conv._ConvNd, scale: torch.Tensor) -> nn.Module:
    """``conv(x) * scale`` (per output channel) as one conv."""
    bias = None if conv.bias is None else conv.bias * scale
    fused = _new_conv(conv, conv.weight * _per_out(scale, conv.weight), bias if bias is not None else scale * 0)
    if conv.bias is None:
        fused.bias = None
    return fused


@torch.no_grad()
def fold_affine_before_conv(conv: nn.modules.conv._ConvNd, scale: torch.Tensor, shift: torch.Tensor) -> nn.Module:
    """``conv(x * scale + shift)`` as one conv; only for unpadded 1x1 convs without groups (the shift would
    otherwise also reach padded positions)."""
    if any(k != 1 for k in conv.kernel_size) or conv.groups != 1:
        raise ValueError("an affine map folds exactly only into a 1x1 conv without groups")
    w = conv.weight
    bias = conv.bias if conv.bias is not None else torch.zeros(w.shape[0], device=w.device, dtype=w.dtype)
    return _new_conv(conv, w * scale.view(1, -1, *[1] * (w.dim() - 2)), bias + w.flatten(1) @ shift)
