"""Batches of clips for the engine: a sampler keyed by (epoch, index), a collate function that drops unreadable
videos, and a loader that names each unreadable video once per run.

The train order depends only on ``(seed, epoch)`` and each process takes every ``world_size``-th item of it;
the sampler yields ``(epoch, index)`` keys, so an item's frames and augmentation depend only on
``(seed, epoch, index)`` whichever DataLoader worker (persistent or not) builds it, and skipping the first
``k`` batches of an epoch on resume changes nothing else. Batches are ``(clips, labels, skipped)``: clips
float (B, C, T, H, W) (or (B, V, C, T, H, W) with V views per video), labels (B,) int64, skipped the number of
unreadable videos dropped from this batch (``clips``/``labels`` are None when all were).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Sampler

from .datasets import BadVideo, VideoClipDataset

__all__ = ["ClipSampler", "VideoLoader", "collate_clips"]

log = logging.getLogger(__name__)


class ClipSampler(Sampler):
    """``(epoch, index)`` keys of ``n`` items for this process.

    train: a permutation drawn from ``seed + epoch``, cut to a multiple of ``world_size`` (every process gets
    the same count), then items ``rank::world_size``. Otherwise ``rank, rank + world_size, ...`` in order
    (every item exactly once over the processes).
    """

    def __init__(self, n: int, *, train: bool, seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} out of range for world size {world_size}")
        self.n, self.train, self.seed, self.rank, self.world_size = n, train, seed, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self) -> list[int]:
        if not self.train:
            return list(range(self.rank, self.n, self.world_size))
        order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed + self.epoch))
        order = order[: (self.n // self.world_size) * self.world_size]
        return order[self.rank::self.world_size].tolist()

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter([(self.epoch, i) for i in self.indices()])

    def __len__(self) -> int:
        return self.n // self.world_size if self.train else len(range(self.rank, self.n, self.world_size))


def collate_clips(batch: list) -> tuple[torch.Tensor | None, torch.Tensor | None, list[BadVideo]]:
    """Stack the readable items; returns (clips, labels, the :class:`BadVideo` items dropped)."""
    bad = [b for b in batch if b is None or isinstance(b, BadVideo)]
    good = [b for b in batch if not (b is None or isinstance(b, BadVideo))]
    if not good:
        return None, None, bad
    return torch.stack([g[0] for g in good]), torch.tensor([g[1] for g in good], dtype=torch.int64), bad


class VideoLoader:
    """A DataLoader over a :class:`VideoClipDataset` yielding ``(clips, labels, skipped)``.

    Each unreadable video is logged once per loader (one warning line naming the file and the reason; the
    set of named paths lives in the main process, so DataLoader workers do not repeat it) and counted in
    ``skipped_total``.

    Args:
        batch_size: per-process batch size. train: shuffle per epoch and drop the last incomplete batch.
        seed: the order's seed (the dataset's ``seed`` keys the per-item randomness).
        rank, world_size: the DDP shard. workers: DataLoader worker processes. pin_memory: for CUDA copies.
    """

    def __init__(self, dataset: VideoClipDataset, batch_size: int, *, train: bool, seed: int = 0, rank: int = 0,
                 world_size: int = 1, workers: int = 0, pin_memory: bool = False,
                 persistent_workers: bool = False) -> None:
        self.dataset, self.batch_size, self.train = dataset, batch_size, train
        self.sampler = ClipSampler(len(dataset), train=train, seed=seed, rank=rank, world_size=world_size)
        if train and len(self.sampler) < batch_size:
            raise ValueError(f"{len(dataset)} videos give this process {len(self.sampler)}, fewer than one batch "
                             f"of {batch_size}: lower the batch size")
        self.loader = DataLoader(dataset, batch_size=batch_size, sampler=self.sampler, drop_last=train,
                                 num_workers=workers, collate_fn=collate_clips, pin_memory=pin_memory,
                                 persistent_workers=persistent_workers and workers > 0)
        self.warned: set[str] = set()
        self.skipped_total = 0

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)
        self.dataset.set_epoch(epoch)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.train else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor | None, torch.Tensor | None, int]]:
        for clips, labels, bad in self.loader:
            for b in bad:
                if b is not None and b.path not in self.warned:
                    self.warned.add(b.path)
                    log.warning("skipping unreadable video %s", b.reason)
            self.skipped_total += len(bad)
            yield clips, labels, len(bad)
