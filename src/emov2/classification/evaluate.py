"""Top-1, top-5, cross-entropy and the confusion matrix over a loader (DDP-aware: sums over processes)."""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..engine.distributed import all_reduce_sum

__all__ = ["evaluate_classifier", "unpack_batch"]


def unpack_batch(batch) -> tuple[torch.Tensor | None, torch.Tensor | None, int]:
    """(images, labels, unreadable images skipped) from ``(x, y)`` or ``(x, y, skipped)``."""
    if len(batch) == 3:
        return batch
    return batch[0], batch[1], 0


@torch.no_grad()
def evaluate_classifier(model: nn.Module, loader, num_classes: int, *, device: torch.device | None = None,
                        autocast=contextlib.nullcontext, progress: bool = False, desc: str = "eval",
                        reduce: bool = True) -> dict:
    """{top1, top5 (%), loss, images, skipped, confusion (C, C) int64 (rows: true class)} of ``model``; with
    ``reduce`` the counts are summed over the processes (every rank must call it, each with its shard)."""
    device = device or next(model.parameters()).device
    model.eval()
    stats = torch.zeros(5, dtype=torch.float64)  # loss sum, top1, top5, count, skipped
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    k = min(5, num_classes)
    for batch in tqdm(loader, desc=desc, disable=not progress, leave=False, dynamic_ncols=True, mininterval=1.0):
        x, y, bad = unpack_batch(batch)
        stats[4] += bad
        if x is None:
            continue
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast():
            logits = model(x)
        logits = logits.float()
        top = logits.topk(k, dim=-1).indices
        stats[0] += F.cross_entropy(logits, y, reduction="sum").item()
        stats[1] += (top[:, 0] == y).sum().item()
        stats[2] += (top == y[:, None]).any(dim=-1).sum().item()
        stats[3] += y.shape[0]
        confusion += torch.bincount(y.cpu() * num_classes + top[:, 0].cpu(),
                                    minlength=num_classes * num_classes).view(num_classes, num_classes)
    if reduce:
        all_reduce_sum(stats)
        all_reduce_sum(confusion)
    n = max(stats[3].item(), 1)
    return {"top1": 100 * stats[1].item() / n, "top5": 100 * stats[2].item() / n, "loss": stats[0].item() / n,
            "images": int(stats[3].item()), "skipped": int(stats[4].item()), "confusion": confusion}
