"""Minimal torchrun support: process group from the environment, rank helpers."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = ["cleanup_distributed", "init_distributed", "is_main", "world_size"]


def init_distributed() -> bool:
    """Join the process group when started by torchrun (``WORLD_SIZE`` > 1): gloo on CPU, nccl on CUDA."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return dist.is_initialized()
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return True


def is_main() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def cleanup_distributed() -> None:
    """Leave the process group (a no-op outside torchrun)."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
