"""The loaders of a classification run: an ImageNet-layout folder (timm transforms, per-sample seeded
augmentation, sharded resumable order) or the embedded Fashion-MNIST set (tensors, batched augmentation) with
a held-out validation split of the training images and the test split kept for one final measurement."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from ..data.fashion_mnist import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    holdout_split,
    load_fashion_mnist,
)
from ..data.folder import ImageFolderChecked, collate_skip_bad, image_folder_splits
from ..data.tensor_loader import TensorLoader, resize_uint8
from ..data.transforms import build_eval_transform, build_train_transform
from ..engine.data import EpochLoader
from ..engine.distributed import DistInfo
from .config import ClsConfig

__all__ = ["ClsData", "build_cls_data", "is_fashion_mnist"]


@dataclass
class ClsData:
    train: object
    val: object
    test: object | None  # () -> an unsharded loader of the test split (rank 0 measures it once), or None
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    grayscale: bool = False
    resize_only: bool = False
    description: str = ""
    num_train: int = 0
    splits: dict = field(default_factory=dict)  # split name -> what it is, for the printed numbers


def is_fashion_mnist(data: str) -> bool:
    return data.lower().replace("_", "-") == "fashion-mnist"


def _subset(n: int, k: int, seed: int) -> torch.Tensor | None:
    if not k or k >= n:
        return None
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:k].sort().values


def _fashion_mnist(cfg: ClsConfig, d: DistInfo, per_proc: int) -> ClsData:
    x, y = load_fashion_mnist("train")
    xte, yte = load_fashion_mnist("test")
    train_idx, val_idx = holdout_split(len(y), cfg.val_holdout)
    xtr, ytr, xva, yva = x[train_idx], y[train_idx], x[val_idx], y[val_idx]
    sub = _subset(len(ytr), cfg.max_train_samples, cfg.seed)
    if sub is not None:
        xtr, ytr = xtr[sub], ytr[sub]
    xtr, xva, xte = (resize_uint8(t, cfg.img_size) for t in (xtr, xva, xte))
    common = dict(mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD, rank=d.rank, world_size=d.world_size,
                  channels_last=cfg.channels_last)
    train = TensorLoader(xtr, ytr, per_proc, train=True, pad=cfg.pad, hflip=cfg.hflip, seed=cfg.seed, **common)
    val = TensorLoader(xva, yva, max(per_proc, 256), train=False, **common)
    whole = {**common, "rank": 0, "world_size": 1}

    def test():
        return TensorLoader(xte, yte, max(per_proc, 256), train=False, **whole)

    return ClsData(train, val, test, list(FASHION_MNIST_CLASSES), FASHION_MNIST_MEAN, FASHION_MNIST_STD,
                   grayscale=True, resize_only=True, num_train=len(ytr),
                   description=f"Fashion-MNIST ({len(ytr)} train / {len(yva)} held-out val / {len(yte)} test, "
                               f"grey 28 px -> {cfg.img_size} px)",
                   splits={"val": f"{len(yva)} images held out of the 60,000 training images",
                           "test": f"the {len(yte)} test images"})


def _folder(cfg: ClsConfig, d: DistInfo, per_proc: int) -> ClsData:
    root = Path(cfg.data)
    mean, std = IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
    aa = None if cfg.aa in ("", "none") else cfg.aa
    train_tf = build_train_transform(cfg.img_size, auto_augment=aa, interpolation=cfg.train_interpolation,
                                     hflip=cfg.hflip, scale=cfg.scale, ratio=cfg.ratio, mean=mean, std=std)
    eval_tf = build_eval_transform(cfg.img_size, crop_pct=cfg.crop_pct, interpolation=cfg.interpolation,
                                   mean=mean, std=std)
    train_ds, val_ds = image_folder_splits(root, train_tf, eval_tf)
    test_ds = ImageFolderChecked(root / "test", eval_tf, classes=train_ds.classes,
                                 classes_from=f"the training folder {root / 'train'}") if (root / "test").is_dir() \
        else None
    sub = _subset(len(train_ds), cfg.max_train_samples, cfg.seed)
    if sub is not None:
        train_ds.samples = [train_ds.samples[i] for i in sub.tolist()]
    if len(train_ds) < per_proc * d.world_size:
        raise ValueError(f"{root / 'train'} has {len(train_ds)} images, fewer than one batch of {cfg.batch_size}: "
                         "lower --batch-size")
    workers = min(cfg.workers, os.cpu_count() or 1)
    kw = dict(workers=workers, collate_fn=collate_skip_bad, pin_memory=d.device.type == "cuda", seed=cfg.seed)
    train = EpochLoader(train_ds, per_proc, d, train=True, **kw)
    val = EpochLoader(val_ds, per_proc, d, train=False, **kw)
    test = (lambda: EpochLoader(test_ds, per_proc, DistInfo(device=d.device), train=False, **kw)) if test_ds \
        else None
    return ClsData(train, val, test, train_ds.classes, tuple(mean), tuple(std), num_train=len(train_ds),
                   description=f"{root} ({len(train_ds)} train / {len(val_ds)} val"
                               + (f" / {len(test_ds)} test" if test_ds else "")
                               + f" images, {len(train_ds.classes)} classes)",
                   splits={"val": str(root / "val"), "test": str(root / "test")})


def build_cls_data(cfg: ClsConfig, d: DistInfo) -> ClsData:
    """Loaders for ``cfg.data``; the global ``cfg.batch_size`` is split evenly over the processes."""
    if not cfg.data:
        raise ValueError("no --data given: pass an ImageNet-layout folder or 'fashion-mnist'")
    if cfg.batch_size % d.world_size:
        raise ValueError(f"--batch-size {cfg.batch_size} is not divisible by the {d.world_size} processes")
    per_proc = cfg.batch_size // d.world_size
    if is_fashion_mnist(cfg.data):
        return _fashion_mnist(cfg, d, per_proc)
    return _folder(cfg, d, per_proc)
