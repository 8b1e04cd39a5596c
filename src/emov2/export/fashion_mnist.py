"""Fashion-MNIST (Debian ``dataset-fashion-mnist``: gzip IDX files) for the INT8-vs-fp32 accuracy check.

Grey 28x28 images are resized to ``img_size`` and repeated to 3 channels (the models take RGB), then
normalised with ``mean``/``std`` (Fashion-MNIST's own statistics by default; pass the trainer's if it used others).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DEFAULT_ROOT", "FMNIST_MEAN", "FMNIST_STD", "load_split", "quick_train", "recalibrate_bn", "to_input",
           "top1"]

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
FMNIST_MEAN, FMNIST_STD = 0.2860, 0.3530
_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX array (optionally gzip-compressed): magic 0 0 dtype ndim, big-endian dims, then the data."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(split: str = "test", root: str | os.PathLike = DEFAULT_ROOT, limit: int | None = None,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28), labels int64 (N,)); ``limit`` takes a class-mixed random subset."""
    if split not in _FILES:
        raise ValueError(f"split must be train or test, got {split!r}")
    root = Path(root)
    img_file, lbl_file = (root / f for f in _FILES[split])
    if not img_file.is_file():
        raise FileNotFoundError(f"{img_file} not found: apt-get install dataset-fashion-mnist, or pass the folder")
    images, labels = read_idx(img_file), read_idx(lbl_file).astype(np.int64)
    if limit is not None and limit < len(labels):
        idx = np.random.default_rng(seed).permutation(len(labels))[:limit]
        images, labels = images[idx], labels[idx]
    return images, labels


def to_input(images: np.ndarray, img_size: int = 32, in_chans: int = 3, mean: float = FMNIST_MEAN,
             std: float = FMNIST_STD) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255)[:, None]
    if img_size != x.shape[-1]:
        x = F.interpolate(x, size=(img_size, img_size), mode="bilinear", align_corners=False)
    x = (x - mean) / std
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
