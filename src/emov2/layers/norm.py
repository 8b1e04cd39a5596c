"""Norms and layer scale over the channels of 2-D (B, C, H, W) and 3-D (B, C, T, H, W) maps.

The official code uses eps 1e-6 for every norm (:data:`EPS`). 2-D uses timm's ``LayerNorm2d`` and
``LayerScale2d``; :class:`LayerNorm3d` and :class:`LayerScale3d` are their 5-D counterparts (same state dicts).
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from timm.layers import LayerNorm2d, LayerScale2d
from torch import nn

__all__ = ["EPS", "LayerNorm3d", "LayerScale3d", "create_layer_scale", "norm_layer"]

EPS = 1e-6


class LayerNorm3d(nn.LayerNorm):
    """LayerNorm over the channels of (B, C, T, H, W) maps."""

    def __init__(self, num_channels: int, eps: float = EPS, affine: bool = True, **kwargs) -> None:
        super().__init__(num_channels, eps=eps, elementwise_affine=affine, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 4, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 4, 1, 2, 3)


class LayerScale3d(nn.Module):
    """Per-channel scale of (B, C, T, H, W) maps (``gamma`` of shape (C,), as timm's ``LayerScale2d``)."""

    def __init__(self, dim: int, init_values: float = 1e-5, inplace: bool = False, device=None, dtype=None):
        super().__init__()
        self.inplace = inplace
        self.gamma = nn.Parameter(torch.full((dim,), init_values, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gamma = self.gamma.view(1, -1, 1, 1, 1)
        return x.mul_(gamma) if self.inplace else x * gamma


_NORMS = {
    ("bn", 2): nn.BatchNorm2d, ("bn", 3): nn.BatchNorm3d,
    ("ln", 2): LayerNorm2d, ("ln", 3): LayerNorm3d,
}


def norm_layer(name: str, spatial_dims: int = 2, eps: float = EPS):
    """``bn`` (BatchNorm) or ``ln`` (channel LayerNorm) for 2-D or 3-D maps, as a class taking ``num_features``."""
    cls = _NORMS.get((name, spatial_dims))
    if cls is None:
        raise ValueError(f"unknown norm {name!r} for {spatial_dims}-D maps; expected 'bn' or 'ln', dims 2 or 3")
    return partial(cls, eps=eps)


def create_layer_scale(spatial_dims: int, dim: int, init_values: float, **dd) -> nn.Module:
    """Layer scale for 2-D or 3-D maps; ``init_values <= 0`` disables it (``nn.Identity``)."""
    if init_values <= 0:
        return nn.Identity()
    return (LayerScale2d if spatial_dims == 2 else LayerScale3d)(dim, init_values, **dd)
