"""Resumable, worker-independent data order for every task.

* :class:`EpochSampler`: this rank's indices of an epoch, a permutation that depends only on ``(seed, epoch)``
  (or ``0..n-1``), sharded ``rank::world``; it can start ``k`` batches into the epoch, which is how a resumed run
  continues exactly where the interrupted one stopped. It yields ``(epoch, index)`` pairs.
* :class:`SeededDataset`: item ``(epoch, index)`` is computed with Python, NumPy and torch RNGs seeded from
  ``(seed, epoch, index)``, so random augmentation is the same whichever DataLoader worker (or none) runs it.
  In the main process the global RNG states are restored afterwards, so loading never shifts the training RNG.
* :class:`EpochLoader`: a ``DataLoader`` over both, with ``set_epoch`` / ``set_start`` and ``len`` = batches.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from .distributed import DistInfo

__all__ = ["EpochLoader", "EpochSampler", "SeededDataset", "sample_seed"]


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for one sample of one epoch (splitmix-style mixing of the three numbers)."""
    x = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB) % (1 << 64)
    x ^= x >> 31
    x = (x * 0xD6E8FEB86659FD93) % (1 << 64)
    return x >> 1


class EpochSampler(Sampler):
    """``(epoch, index)`` pairs for this rank.

    Args:
        n: dataset size.
        batch_size: per-process batch size (for ``drop_last`` and ``set_start``).
        rank, world_size: this process's shard: positions ``rank, rank + world, ...`` of the epoch's order.
        seed: the order of epoch ``e`` is ``randperm(n)`` seeded by ``(seed, e)`` when ``shuffle``.
        drop_last: cut the order to a multiple of ``world_size * batch_size`` (every rank the same steps).
    """

    def __init__(self, n: int, batch_size: int, *, rank: int = 0, world_size: int = 1, seed: int = 0,
                 shuffle: bool = True, drop_last: bool = True) -> None:
        self.n, self.batch_size, self.rank, self.world_size = n, batch_size, rank, world_size
        self.seed, self.shuffle, self.drop_last = seed, shuffle, drop_last
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def set_start(self, batches: int) -> None:
        """Skip the first ``batches`` batches of the current epoch (once: the next ``set_epoch`` resets it)."""
        self.start = batches

    def indices(self) -> list[int]:
        """This rank's whole epoch, before ``set_start`` is applied."""
        if self.shuffle:
            g = torch.Generator().manual_seed(sample_seed(self.seed, self.epoch, -1) % (1 << 62))
            order = torch.randperm(self.n, generator=g)
        else:
            order = torch.arange(self.n)
        if self.drop_last:
            per_step = self.batch_size * self.world_size
            order = order[: (self.n // per_step) * per_step]
        return order[self.rank::self.world_size].tolist()

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, skip = self.epoch, self.start * self.batch_size
        self.start = 0
        return iter([(epoch, i) for i in self.indices()[skip:]])

    def __len__(self) -> int:
        return max(0, len(self.indices()) - self.start * self.batch_size)


class SeededDataset(Dataset):
    """Wraps ``dataset``: ``ds[(epoch, i)]`` = ``dataset[i]`` computed under RNGs seeded by ``(seed, epoch, i)``."""

    def __init__(self, dataset: Dataset, seed: int = 0) -> None:
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key):
        epoch, index = key if isinstance(key, tuple) else (0, key)
        s = sample_seed(self.seed, epoch, index)
        in_worker = get_worker_info() is not None
        saved = None if in_worker else (random.getstate(), np.random.get_state(), torch.get_rng_state())
        random.seed(s)
        np.random.seed(s % (1 << 32))
        torch.manual_seed(s)
        try:
            return self.dataset[index]
        finally:
            if saved is not None:
                random.setstate(saved[0])
                np.random.set_state(saved[1])
                torch.set_rng_state(saved[2])

    def __getattr__(self, name):  # dataset attributes (classes, ...) pass through
        if name in ("dataset", "seed"):
            raise AttributeError(name)
        return getattr(self.dataset, name)


class EpochLoader:
    """Batches of one epoch of ``dataset`` for this rank, resumable at any batch.

    Args:
        dataset: indexable by ``int``; wrapped in :class:`SeededDataset`.
        batch_size: per-process batch size.
        dist: this process's place in the process group.
        train: shuffle and drop the last incomplete batch; otherwise the fixed order and every sample.
        collate_fn, workers, pin_memory: as ``DataLoader``.
    """

    def __init__(self, dataset: Dataset, batch_size: int, dist: DistInfo, *, seed: int = 0, train: bool = True,
                 workers: int = 0, collate_fn: Callable | None = None, pin_memory: bool = False) -> None:
        self.dataset = dataset
        self.sampler = EpochSampler(len(dataset), batch_size, rank=dist.rank, world_size=dist.world_size,
                                    seed=seed, shuffle=train, drop_last=train)
        self.loader = DataLoader(SeededDataset(dataset, seed), batch_size=batch_size, sampler=self.sampler,
                                 num_workers=workers, collate_fn=collate_fn, pin_memory=pin_memory,
                                 drop_last=train, generator=torch.Generator().manual_seed(seed))
        self.batch_size = batch_size

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def set_start(self, batches: int) -> None:
        self.sampler.set_start(batches)

    def epoch_indices(self) -> list[int]:
        """The dataset indices this rank reads in the current epoch (whole batches)."""
        idx = self.sampler.indices()
        return idx[: len(self) * self.batch_size] if self.sampler.drop_last else idx

    def __iter__(self):
        return iter(self.loader)

    def __len__(self) -> int:
        n = len(self.sampler.indices())
        return n // self.batch_size if self.sampler.drop_last else -(-n // self.batch_size)
