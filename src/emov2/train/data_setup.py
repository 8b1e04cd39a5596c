"""Builds the train and validation loaders of a run from its settings: an ImageNet-layout folder (timm
transforms, DataLoader workers, sharded samplers) or the embedded Fashion-MNIST set (:class:`TensorLoader`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from ..data.fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist
from ..data.folder import ImageFolderChecked, collate_skip_bad
from ..data.tensor_loader import TensorLoader, resize_uint8
from ..data.transforms import build_eval_transform, build_train_transform
from .config import TrainConfig
from .distributed import DistInfo

__all__ = ["FASHION_MNIST_MEAN", "FASHION_MNIST_STD", "RunData", "ShardSampler", "build_data"]

FASHION_MNIST_MEAN = (0.2860,) * 3
FASHION_MNIST_STD = (0.3530,) * 3


class ShardSampler(Sampler):
    """Indices ``rank, rank + world, ...`` of ``n`` (every sample exactly once over the processes)."""

    def __init__(self, n: int, rank: int = 0, world_size: int = 1) -> None:
        self.n, self.rank, self.world_size = n, rank, world_size

    def __iter__(self):
        return iter(range(self.rank, self.n, self.world_size))

    def __len__(self) -> int:
        return len(range(self.rank, self.n, self.world_size))


@dataclass
class RunData:
    train: object
    val: object
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    grayscale: bool = False
    description: str = ""
    extra: dict = field(default_factory=dict)

    def set_epoch(self, epoch: int) -> None:
        sampler = getattr(self.train, "sampler", None)
        target = self.train if isinstance(self.train, TensorLoader) else sampler
        if hasattr(target, "set_epoch"):
            target.set_epoch(epoch)


def _subset(n: int, k: int | None, seed: int) -> torch.Tensor | None:
    if not k or k >= n:
        return None
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:k].sort().values


def _fashion_mnist(cfg: TrainConfig, d: DistInfo, per_proc: int) -> RunData:
    xtr, ytr = load_fashion_mnist("train")
    xte, yte = load_fashion_mnist("test")
    sub = _subset(len(ytr), cfg.max_train_samples, cfg.seed)
    if sub is not None:
        xtr, ytr = xtr[sub], ytr[sub]
    xtr, xte = resize_uint8(xtr, cfg.img_size), resize_uint8(xte, cfg.img_size)
    common = dict(mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD, rank=d.rank, world_size=d.world_size,
                  channels_last=cfg.channels_last)
    train = TensorLoader(xtr, ytr, per_proc, train=True, pad=cfg.pad, hflip=cfg.hflip, seed=cfg.seed, **common)
    val = TensorLoader(xte, yte, max(per_proc, 256), train=False, **common)
    return RunData(train, val, list(FASHION_MNIST_CLASSES), FASHION_MNIST_MEAN, FASHION_MNIST_STD, grayscale=True,
                   description=f"Fashion-MNIST ({len(ytr)} train / {len(yte)} test, grey 28 px -> {cfg.img_size} px)")


def _folder(cfg: TrainConfig, d: DistInfo, per_proc: int) -> RunData:
    root = Path(cfg.data)
    if not root.exists():
        raise FileNotFoundError(f"data folder not found: {root}")
    for split in ("train", "val"):
        if not (root / split).is_dir():
            raise FileNotFoundError(f"{root / split} not found: --data expects DIR/train/<class>/* and "
                                    "DIR/val/<class>/*")
    mean, std = IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
    train_tf = build_train_transform(cfg.img_size, auto_augment=cfg.aa, interpolation=cfg.train_interpolation,
                                     hflip=cfg.hflip, scale=cfg.scale, ratio=cfg.ratio, mean=mean, std=std)
    eval_tf = build_eval_transform(cfg.img_size, crop_pct=cfg.crop_pct, interpolation=cfg.interpolation,
                                   mean=mean, std=std)
    train_ds = ImageFolderChecked(root / "train", train_tf)
    val_ds = ImageFolderChecked(root / "val", eval_tf, classes=train_ds.classes)
    if cfg.max_train_samples:
        sub = _subset(len(train_ds), cfg.max_train_samples, cfg.seed)
        if sub is not None:
            train_ds.samples = [train_ds.samples[i] for i in sub.tolist()]
    if len(train_ds) < per_proc * d.world_size:
        raise ValueError(f"{root / 'train'} has {len(train_ds)} images, fewer than one batch of {cfg.batch_size}: "
                         "lower --batch-size")
    workers = min(cfg.workers, os.cpu_count() or 1)
    loader_kw = dict(num_workers=workers, collate_fn=collate_skip_bad, pin_memory=d.device.type == "cuda",
                     persistent_workers=False)
    sampler = DistributedSampler(train_ds, num_replicas=d.world_size, rank=d.rank, shuffle=True, seed=cfg.seed,
                                 drop_last=True)
    train = DataLoader(train_ds, batch_size=per_proc, sampler=sampler, drop_last=True, **loader_kw)
    val = DataLoader(val_ds, batch_size=per_proc, sampler=ShardSampler(len(val_ds), d.rank, d.world_size),
                     **loader_kw)
    return RunData(train, val, train_ds.classes, tuple(mean), tuple(std),
                   description=f"{root} ({len(train_ds)} train / {len(val_ds)} val images, "
                               f"{len(train_ds.classes)} classes)")


def build_data(cfg: TrainConfig, d: DistInfo) -> RunData:
    """Loaders for ``cfg.data``; the global ``cfg.batch_size`` is split evenly over the processes."""
    if not cfg.data:
        raise ValueError("no --data given: pass an ImageNet-layout folder or 'fashion-mnist'")
    if cfg.batch_size % d.world_size:
        raise ValueError(f"--batch-size {cfg.batch_size} is not divisible by the {d.world_size} processes")
    per_proc = cfg.batch_size // d.world_size
    if cfg.data.lower().replace("_", "-") == "fashion-mnist":
        return _fashion_mnist(cfg, d, per_proc)
    return _folder(cfg, d, per_proc)
