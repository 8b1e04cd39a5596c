"""The two-process (gloo) side of the precise-BN DDP test (started by fork, so importing is free)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from emov2.engine.precise_bn import bn_stats_immature, recompute_bn_stats


class Toy(nn.Module):
    """BatchNorm 3d -> conv -> dropout -> BatchNorm 2d (momentum None) -> BatchNorm 1d on (B, 4, 2, 3, 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.bn3 = nn.BatchNorm3d(4)
        self.conv = nn.Conv3d(4, 4, 1)
        self.drop = nn.Dropout(0.5)
        self.bn2 = nn.BatchNorm2d(4, momentum=None)
        self.bn1 = nn.BatchNorm1d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.conv(self.bn3(x)))
        return self.bn1(self.bn2(x.flatten(2, 3)).flatten(2))


def toy_batches(seed: int, n: int = 5) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [3 + 2 * torch.randn(6, 4, 2, 3, 3, generator=g) for _ in range(n)]


def ddp_worker(rank: int, port: int, out_dir: str) -> None:
    """Rank ``rank`` of 2: the same Toy weights, its own batches (2 + rank of them), DDP-wrapped."""
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        torch.manual_seed(0)
        model = nn.parallel.DistributedDataParallel(Toy())
        immature = bn_stats_immature(model)
        used = recompute_bn_stats(model, toy_batches(seed=10 + rank, n=2 + rank))
        state = {k: v.clone() for k, v in model.module.state_dict().items()}
        torch.save({"state": state, "used": used, "immature": immature}, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()
