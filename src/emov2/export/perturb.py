"""Give a freshly initialised model non-trivial weights for parity checks.

At initialisation EMOv2's layer scales are 1e-6 and BatchNorm statistics are 0/1, so every block is close to
the identity and a parity check would compare two near-constant outputs. This sets layer scales, norm
affines and BN statistics to random moderate values (convolutions and linears keep their default init).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["perturb_"]


@torch.no_grad()
def perturb_(model: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)

    def uniform(t: torch.Tensor, lo: float, hi: float) -> None:
        t.copy_(torch.rand(t.shape, generator=g) * (hi - lo) + lo)

    def normal(t: torch.Tensor, std: float) -> None:
        t.copy_(torch.randn(t.shape, generator=g) * std)

    for name, p in model.named_parameters():
        if name.endswith("gamma"):  # layer scale
            uniform(p, 0.2, 0.6)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            normal(m.running_mean, 0.1)
            uniform(m.running_var, 0.5, 1.5)
        if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)) or \
                type(m).__name__.startswith("LayerNorm"):
            if getattr(m, "weight", None) is not None:
                uniform(m.weight, 0.5, 1.5)
            if getattr(m, "bias", None) is not None:
                normal(m.bias, 0.1)
        if isinstance(m, nn.Linear):
            normal(m.weight, 1.0 / m.in_features ** 0.5)
    return model
