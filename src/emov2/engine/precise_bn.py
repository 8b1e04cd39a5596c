"""Precise BatchNorm statistics (temporary minimal version; replaced by the full module)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["bn_stats_immature", "recompute_bn_stats", "trained_bns"]

MATURE_UPDATES = 500


def trained_bns(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorms that update their statistics in training (``model.train()`` applied: frozen or norm_eval
    ones stay in eval mode and are left alone)."""
    was = model.training
    model.train()
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training
           and m.track_running_stats]
    model.train(was)
    return bns


def bn_stats_immature(model: nn.Module) -> bool:
    bns = trained_bns(model)
    return bool(bns) and min(int(m.num_batches_tracked) for m in bns) < MATURE_UPDATES


@torch.no_grad()
def recompute_bn_stats(model: nn.Module, batches, forward, num_batches: int = 8) -> int:
    bns = trained_bns(model)
    if not bns:
        return 0
    was_training = model.training
    saved = [(m.momentum, m.num_batches_tracked.clone()) for m in bns]
    model.train()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    n = 0
    for batch in batches:
        if n >= num_batches:
            break
        forward(model, batch)
        n += 1
    for m, (momentum, tracked) in zip(bns, saved, strict=True):
        m.momentum = momentum
        m.num_batches_tracked.copy_(tracked)
    model.train(was_training)
    return n
