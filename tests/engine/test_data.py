"""The data order: every sample once per epoch over the ranks, resumable at a batch, worker-independent."""

from __future__ import annotations

import random

import torch
from torch.utils.data import Dataset

from emov2.engine.data import EpochLoader, EpochSampler
from emov2.engine.distributed import DistInfo


def test_ranks_partition_each_epoch_and_epochs_differ() -> None:
    n, batch, world = 50, 4, 3
    per_rank = [EpochSampler(n, batch, rank=r, world_size=world, seed=7) for r in range(world)]
    for s in per_rank:
        s.set_epoch(2)
    seen = [i for s in per_rank for _, i in s]
    assert len(seen) == len(set(seen)) == (n // (batch * world)) * batch * world  # disjoint, whole steps
    assert all(len(list(s)) == len(s) for s in per_rank)
    other = EpochSampler(n, batch, rank=0, world_size=world, seed=7)
    other.set_epoch(3)
    assert [i for _, i in other] != [i for _, i in per_rank[0]]


def test_set_start_skips_whole_batches_once() -> None:
    s = EpochSampler(20, 4, seed=1)
    s.set_epoch(1)
    full = list(s)
    s.set_epoch(1)
    s.set_start(2)
    assert list(s) == full[8:]
    assert list(s) == full  # the skip applies to one pass only


class _Noisy(Dataset):
    """Each item draws from the global RNGs, as random augmentation does."""

    def __len__(self) -> int:
        return 12

    def __getitem__(self, i: int):
        return torch.tensor([float(i), torch.rand(()).item(), random.random()])


def test_augmentation_does_not_depend_on_workers_and_spares_the_main_rng() -> None:
    batches = {}
    for workers in (0, 2):
        loader = EpochLoader(_Noisy(), 3, DistInfo(), seed=5, train=True, workers=workers)
        loader.set_epoch(4)
        torch.manual_seed(0)
        batches[workers] = torch.cat(list(loader))
    assert torch.equal(batches[0], batches[2])
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    list(EpochLoader(_Noisy(), 3, DistInfo(), seed=5, workers=0))
    assert torch.equal(torch.rand(3), expected)  # loading in the main process left the training RNG alone
