"""One training epoch and one evaluation pass (DDP-aware; metrics are summed over processes)."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .distributed import all_reduce_sum

__all__ = ["evaluate", "train_one_epoch"]


def _unpack(batch) -> tuple[torch.Tensor | None, torch.Tensor | None, int]:
    """(images, labels) or (images, labels, number of unreadable images skipped)."""
    if len(batch) == 3:
        return batch
    return batch[0], batch[1], 0


def train_one_epoch(
    model: nn.Module, loader, optimizer: torch.optim.Optimizer, scheduler, loss_fn: Callable, *,
    epoch: int, device: torch.device, autocast=contextlib.nullcontext, scaler=None, clip_grad: float | None = None,
    ema=None, teacher: nn.Module | None = None, kd_weight: float = 5.0, kd_tau: float = 1.0,
    world_size: int = 1, progress: bool = True, desc: str = "train",
) -> dict:
    """Train for one pass over ``loader``; returns mean loss, last lr, images/s (all processes) and skipped images.

    The scheduler is stepped per iteration (``step_update(epoch * len(loader) + i + 1)``) and so is the EMA.
    """
    from .distill import kd_loss

    model.train()
    steps = len(loader)
    loss_sum = torch.zeros((), dtype=torch.float64)
    seen, skipped, done = 0, 0, 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    bar = tqdm(total=steps, desc=desc, disable=not progress, leave=True, dynamic_ncols=True, mininterval=1.0)
    for i, batch in enumerate(loader):
        x, y, bad = _unpack(batch)
        skipped += bad
        if x is None:
            bar.update(1)
            continue
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast():
            logits = model(x)
            loss = loss_fn(logits, y)
            if teacher is not None:
                loss = loss + kd_weight * kd_loss(logits, teacher(x), kd_tau)
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"loss is {loss.item()} at epoch {epoch + 1}, step {i + 1}")
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            if clip_grad:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            if clip_grad:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            optimizer.step()
        num_updates = epoch * steps + i + 1
        if scheduler is not None:
            scheduler.step_update(num_updates=num_updates)
        if ema is not None:
            ema.update(model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model,
                       step=num_updates)
        loss_sum += loss.detach().double().cpu() * y.shape[0]
        seen += y.shape[0]
        done += 1
        bar.update(1)
        if progress and (done % 5 == 0 or i == steps - 1):
            ips = seen * world_size / (time.perf_counter() - t0)
            bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}",
                            img_s=f"{ips:.0f}", refresh=False)
    bar.close()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    totals = all_reduce_sum(torch.tensor([loss_sum.item(), seen, skipped, cpu], dtype=torch.float64))
    return {
        "train_loss": totals[0].item() / max(totals[1].item(), 1),
        "lr": optimizer.param_groups[0]["lr"],
        "img_per_s": totals[1].item() / elapsed,
        "train_images": int(totals[1].item()),
        "skipped": int(totals[2].item()),
        "epoch_time_s": elapsed,
        "cpu_s": totals[3].item(),  # CPU time of all processes: img/s per CPU-second is load-independent
    }


@torch.no_grad()
def evaluate(model: nn.Module, loader, num_classes: int, *, device: torch.device, autocast=contextlib.nullcontext,
             progress: bool = False, desc: str = "eval") -> dict:
    """Top-1, top-5 (%), mean cross-entropy and the (C, C) confusion matrix (rows: true class) over ``loader``."""
    model.eval()
    stats = torch.zeros(4, dtype=torch.float64)  # loss sum, top1, top5, count
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    skipped = 0
    for batch in tqdm(loader, desc=desc, disable=not progress, leave=False, dynamic_ncols=True, mininterval=1.0):
        x, y, bad = _unpack(batch)
        skipped += bad
        if x is None:
            continue
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast():
            logits = model(x)
        logits = logits.float()
        k = min(5, num_classes)
        top = logits.topk(k, dim=-1).indices
        stats[0] += F.cross_entropy(logits, y, reduction="sum").item()
        stats[1] += (top[:, 0] == y).sum().item()
        stats[2] += (top == y[:, None]).any(dim=-1).sum().item()
        stats[3] += y.shape[0]
        confusion += torch.bincount(y.cpu() * num_classes + top[:, 0].cpu(),
                                    minlength=num_classes * num_classes).view(num_classes, num_classes)
    all_reduce_sum(stats)
    all_reduce_sum(confusion)
    skipped = int(all_reduce_sum(torch.tensor([skipped], dtype=torch.float64)).item())
    n = max(stats[3].item(), 1)
    return {
        "loss": stats[0].item() / n, "top1": 100 * stats[1].item() / n, "top5": 100 * stats[2].item() / n,
        "images": int(stats[3].item()), "skipped": skipped, "confusion": confusion,
    }
