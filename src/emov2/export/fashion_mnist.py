"""Fashion-MNIST for the INT8-vs-fp32 accuracy check, preprocessed exactly as the trainer does.

Images come from the canonical reader (:func:`emov2.data.fashion_mnist.load_fashion_mnist`), are resized from 28 px
to ``img_size`` like the trainer's loader (:func:`emov2.data.tensor_loader.resize_uint8`: bilinear with antialias,
rounded to uint8), repeated to 3 channels and normalised with ``mean``/``std`` (Fashion-MNIST's own statistics by
default; the CLI passes the checkpoint's), so a checkpoint scores here what ``emov2 eval`` reports.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.fashion_mnist import find_fashion_mnist, load_fashion_mnist
from ..data.tensor_loader import resize_uint8

__all__ = ["FMNIST_MEAN", "FMNIST_STD", "available", "load_split", "quick_train", "recalibrate_bn",
           "to_input", "top1"]

FMNIST_MEAN, FMNIST_STD = 0.2860, 0.3530


def available(root: str | os.PathLike | None = None) -> bool:
    return find_fashion_mnist(root) is not None


def load_split(split: str = "test", root: str | os.PathLike | None = None, limit: int | None = None,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28), labels int64 (N,)); ``limit`` takes a class-mixed random subset."""
    images, labels = (t.numpy() for t in load_fashion_mnist(split, root))
    if limit is not None and limit < len(labels):
        idx = np.random.default_rng(seed).permutation(len(labels))[:limit]
        images, labels = images[idx], labels[idx]
    return images, labels


def to_input(images: np.ndarray, img_size: int = 32, in_chans: int = 3, mean: float = FMNIST_MEAN,
             std: float = FMNIST_STD) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, in_chans, img_size, img_size) float, normalised."""
    x = resize_uint8(torch.from_numpy(np.ascontiguousarray(images)), img_size)
    x = (x[:, None].float() / 255 - mean) / std
    return x.expand(-1, in_chans, -1, -1).contiguous()


def top1(run, x: torch.Tensor, labels: np.ndarray, batch: int = 256) -> float:
    """Top-1 (%) of ``run`` (tensor -> logits as tensor or array) over ``x``."""
    correct = 0
    for i in range(0, len(x), batch):
        out = run(x[i:i + batch])
        pred = np.asarray(out.detach() if isinstance(out, torch.Tensor) else out).argmax(1)
        correct += int((pred == labels[i:i + batch]).sum())
    return 100.0 * correct / len(x)


def quick_train(model: nn.Module, x: torch.Tensor, labels: np.ndarray, *, epochs: int = 1, batch: int = 64,
                lr: float = 2e-3, seed: int = 0, log=None) -> nn.Module:
    """A brief AdamW fit (for exercising the INT8 path without the real trainer; not a recipe)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.from_numpy(labels)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        total = 0.0
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx], label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / len(x):.3f}")
    recalibrate_bn(model, x, batch)
    return model.eval()


@torch.no_grad()
def recalibrate_bn(model: nn.Module, x: torch.Tensor, batch: int = 64, max_images: int = 1024) -> None:
    """Recompute BatchNorm running statistics as exact averages over ``x``. After only a few steps the
    momentum averages still lean on their 0/1 initial values, and eval mode would score near chance."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    for i in range(0, min(len(x), max_images), batch):
        model(x[i:i + batch])
    for m, momentum in zip(bns, momenta, strict=True):
        m.momentum = momentum
