"""AdamW with the paper's parameter groups and its warmup / constant / cosine schedule (iteration based)."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["build_adamw", "warmup_constant_cosine"]

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)


def build_adamw(model: nn.Module, lr: float, weight_decay: float = 0.05, head_lr_mult: float = 1.0,
                head_prefixes: tuple[str, ...] = ()) -> torch.optim.AdamW:
    """AdamW where norm weights, biases and 1-d parameters take no weight decay (mmcv ``norm_decay_mult=0``),
    and parameters whose name starts with one of ``head_prefixes`` use ``lr * head_lr_mult``."""
    norm_params = {id(p) for m in model.modules() if isinstance(m, _NORMS) for p in m.parameters(recurse=False)}
    norm_params |= {id(p) for m in model.modules() if type(m).__name__.startswith("LayerNorm")
                    for p in m.parameters(recurse=False)}
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        no_wd = id(p) in norm_params or p.ndim <= 1
        head = bool(head_prefixes) and name.startswith(head_prefixes)
        groups.setdefault((no_wd, head), []).append(p)
    param_groups = [
        {"params": ps, "weight_decay": 0.0 if no_wd else weight_decay, "lr": lr * (head_lr_mult if head else 1.0)}
        for (no_wd, head), ps in groups.items()
    ]
    return torch.optim.AdamW(param_groups, lr=lr, weight_decay=weight_decay)


def warmup_constant_cosine(total: int, warmup: int = 500, warmup_factor: float = 1e-5,
                           constant_until: float = 0.5):
    """LR multiplier per iteration: linear from ``warmup_factor`` to 1 over ``warmup`` iterations, constant
    until ``constant_until * total``, then cosine to 0 at ``total`` (the paper's det and seg schedules)."""
    flat_end = int(constant_until * total)

    def factor(it: int) -> float:
        if it < warmup:
            return warmup_factor + (1 - warmup_factor) * it / max(1, warmup)
        if it < flat_end:
            return 1.0
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (it - flat_end) / max(1, total - flat_end))))

    return factor
