"""An iteration-based training loop shared by the detection and segmentation trainers.

The task supplies ``loss_fn(model, batch) -> dict[str, Tensor]`` (the ``"loss"`` entry is optimised) and an
optional ``eval_fn(model) -> dict[str, float]``. The loop handles the schedule, gradient clipping, metric
logging (``metrics.jsonl``), periodic evaluation and atomic checkpoints (``last.pt``); with torchrun, only
rank 0 writes.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .checkpoint import save_checkpoint
from .distributed import is_main
from .metrics_log import MetricsLog

__all__ = ["train_loop"]


def _infinite(loader):
    for epoch in itertools.count():
        sampler = getattr(loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        yield from loader


def train_loop(
    model: nn.Module,
    loader,
    optimizer: torch.optim.Optimizer,
    lr_factor: Callable[[int], float],
    iters: int,
    loss_fn: Callable,
    out_dir: str | os.PathLike,
    eval_fn: Callable[[nn.Module], dict] | None = None,
    eval_every: int = 0,
    clip_grad: float | None = None,
    log_every: int = 10,
    config: dict | None = None,
    start_iter: int = 0,
    progress: bool = True,
) -> dict:
    """Train for ``iters`` iterations; returns the last evaluation's metrics (empty without ``eval_fn``)."""
    out_dir = Path(out_dir)
    log = MetricsLog(out_dir / "metrics.jsonl", enabled=is_main())
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    raw = model.module if hasattr(model, "module") else model
    metrics: dict = {}
    t0 = time.time()
    model.train()
    batches = _infinite(loader)
    for it in range(start_iter, iters):
        for g, lr in zip(optimizer.param_groups, base_lrs, strict=False):
            g["lr"] = lr * lr_factor(it)
        losses = loss_fn(model, next(batches))
        loss = losses["loss"]
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at iteration {it}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad:
            nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
        optimizer.step()
        if (it + 1) % log_every == 0 or it + 1 == iters:
            row = {k: round(float(v.detach()), 5) for k, v in losses.items()}
            log.log(kind="train", iter=it + 1, lr=optimizer.param_groups[0]["lr"], time=round(time.time() - t0, 1),
                    **row)
            if progress and is_main():
                print(f"iter {it + 1}/{iters} " + " ".join(f"{k} {v:.4f}" for k, v in row.items()), flush=True)
        last = it + 1 == iters
        if eval_fn is not None and ((eval_every and (it + 1) % eval_every == 0) or last):
            metrics = eval_fn(raw)
            model.train()
            log.log(kind="eval", iter=it + 1, **metrics)
            if progress and is_main():
                print(f"eval @ {it + 1}: " + " ".join(f"{k} {v:.4f}" for k, v in metrics.items()
                                                      if isinstance(v, float)), flush=True)
        if is_main() and (last or (eval_every and (it + 1) % eval_every == 0)):
            save_checkpoint({"model": raw.state_dict(), "optimizer": optimizer.state_dict(), "iter": it + 1,
                             "config": config or {}, "metrics": metrics}, out_dir / "last.pt")
    return metrics
