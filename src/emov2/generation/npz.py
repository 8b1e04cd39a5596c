"""The sample batch of DiT's ``sample_ddp.py`` and the ADM evaluator: ``arr_0`` uint8 (N, H, W, 3), NHWC.

    torchrun --nproc-per-node 8 -m emov2 gen sample --checkpoint CKPT --num-fid-samples 50000 --npz OUT.npz

Labels are class-balanced (sample i has class ``i mod K``) and stored next to the images as ``labels`` (N,).
The N samples are cut into chunks of ``batch_size``; chunk k is drawn with seed ``seed + k`` and process r of W
draws chunks r, r + W, ..., so the file does not depend on the number of processes. Each process writes its
chunks to ``OUT.npz.parts/``; process 0 assembles the file (atomically) and removes the parts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from ..utils.files import atomic_write
from .data import LatentCodec
from .diffusion import GaussianDiffusion
from .dit import DiffusionTransformer
from .sampling import generate_chunk, to_uint8

__all__ = ["balanced_labels", "read_npz", "write_sample_npz"]


def balanced_labels(num_samples: int, num_classes: int) -> torch.Tensor:
    """(N,) labels ``i mod K``: every class ``N // K`` or ``N // K + 1`` times."""
    return torch.arange(num_samples) % num_classes


def write_sample_npz(
    model: DiffusionTransformer,
    diffusion: GaussianDiffusion,
    path: str | os.PathLike,
    num_samples: int,
    *,
    rank: int = 0,
    world_size: int = 1,
    batch_size: int = 64,
    seed: int = 0,
    codec: LatentCodec | None = None,
    progress: bool = False,
    **sample_kwargs,
) -> Path | None:
    """Draw this process's chunks of a class-balanced N-sample batch; process 0 writes ``path`` (.npz with
    ``arr_0`` uint8 (N, H, W, 3) and ``labels`` int64 (N,)). Returns the path on process 0, else None.

    Call it in every process of the group (it synchronises with barriers when ``world_size > 1``).
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"--npz must name a .npz file, got {path}")
    if num_samples < 1 or batch_size < 1:
        raise ValueError(f"need num_samples >= 1 and batch_size >= 1, got {num_samples} and {batch_size}")
    labels = balanced_labels(num_samples, model.num_classes)
    parts = path.with_name(path.name + ".parts")
    num_chunks = (num_samples + batch_size - 1) // batch_size
    mine = list(range(rank, num_chunks, world_size))
    if rank == 0:
        shutil.rmtree(parts, ignore_errors=True)
        parts.mkdir(parents=True)
    _barrier(world_size)
    for k in tqdm(mine, desc=f"samples (rank {rank})", disable=not progress):
        chunk = labels[k * batch_size:(k + 1) * batch_size]
        images = to_uint8(generate_chunk(model, diffusion, chunk, seed + k, codec=codec, **sample_kwargs))
        np.save(parts / f"chunk{k:06d}.npy", images.permute(0, 2, 3, 1).numpy())  # NHWC
    _barrier(world_size)
    if rank != 0:
        return None
    arr = np.concatenate([np.load(parts / f"chunk{k:06d}.npy") for k in range(num_chunks)])

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append .npz to a name
            np.savez(f, arr_0=arr, labels=labels.numpy())

    atomic_write(path, write)
    shutil.rmtree(parts)
    return path


def read_npz(path: str | os.PathLike) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(uint8 images (N, 3, H, W), labels (N,) or None) from a sample batch ``.npz`` (``arr_0`` NHWC uint8)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sample batch {path} does not exist")
    with np.load(path, allow_pickle=False) as f:
        if "arr_0" not in f:
            raise ValueError(f"{path} has no 'arr_0' array (expected DiT/ADM sample batch format)")
        arr = f["arr_0"]
        labels = torch.from_numpy(f["labels"]).long() if "labels" in f else None
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"{path}: arr_0 must be uint8 (N, H, W, 3), got {arr.dtype} {arr.shape}")
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous(), labels


def _barrier(world_size: int) -> None:
    if world_size > 1:
        dist.barrier()
