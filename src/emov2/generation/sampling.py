"""Checkpoint loading (weights-only), pixel-space generation (decoding latents when a VAE was used), uint8
conversion and image grids."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .data import LatentCodec
from .diffusion import GaussianDiffusion, sample
from .dit import DiffusionTransformer

__all__ = [
    "diffusion_from_info",
    "generate",
    "generate_chunk",
    "generate_sharded",
    "load_generator",
    "save_grid",
    "to_uint8",
]


def diffusion_from_info(info: dict) -> GaussianDiffusion:
    """The training objective a generation artifact's sidecar records (``diffusion``: chain length, schedule,
    parameterisation, learned sigma, Min-SNR-gamma)."""
    d = info["diffusion"]
    return GaussianDiffusion(num_timesteps=int(d["num_timesteps"]), learn_sigma=bool(d["learn_sigma"]),
                             schedule=d["schedule"], prediction=d["prediction"], snr_gamma=float(d["snr_gamma"]))


def load_generator(
    checkpoint: str | os.PathLike, *, vae: str | os.PathLike | None = None, device: str = "cpu"
) -> tuple[DiffusionTransformer, GaussianDiffusion, dict, LatentCodec | None]:
    """A generator from an artifact of ``emov2 gen train`` (``best``/``final.safetensors``, or ``last.pt``, whose
    EMA weights are taken): (model in eval mode, diffusion, sidecar info, codec). Read weights-only through
    :func:`emov2.artifacts.load_artifact`; ``vae`` overrides the VAE folder recorded at training time."""
    from ..artifacts import load_artifact

    model, info = load_artifact(checkpoint, task="gen", device=device)
    vae = vae or info.get("vae") or None
    codec = LatentCodec(vae).to(device) if vae else None
    return model, diffusion_from_info(info), info, codec


def generate_chunk(
    model: DiffusionTransformer,
    diffusion: GaussianDiffusion,
    labels: torch.Tensor,
    seed: int,
    *,
    codec: LatentCodec | None = None,
    **sample_kwargs,
) -> torch.Tensor:
    """One batch of images for ``labels`` (B,), drawn with a generator seeded ``seed``: (B, C, H, W) in [-1, 1] on
    the CPU, decoded when ``codec`` is given. Equal (labels, seed, settings) give equal images."""
    gen = torch.Generator().manual_seed(seed)
    x = sample(model, diffusion, labels, generator=gen, **sample_kwargs)
    if codec is not None:
        x = codec.decode(x)
    return x.clamp(-1, 1).float().cpu()


def generate(
    model: DiffusionTransformer,
    diffusion: GaussianDiffusion,
    labels: torch.Tensor,
    *,
    codec: LatentCodec | None = None,
    batch_size: int = 64,
    progress: bool = False,
    seed: int = 0,
    **sample_kwargs,
) -> torch.Tensor:
    """Images for ``labels`` (N,): (N, C, H, W) in [-1, 1] on the CPU, decoded when ``codec`` is given.

    Batch ``k`` (labels ``[k B, (k+1) B)``) is seeded ``seed + k``, so results depend on nothing else (the torchrun
    sample writer relies on this).
    """
    from tqdm.auto import tqdm

    starts = range(0, len(labels), batch_size)
    out = [generate_chunk(model, diffusion, labels[start:start + batch_size], seed + k, codec=codec, **sample_kwargs)
           for k, start in enumerate(tqdm(starts, desc="generate", disable=not progress))]
    return torch.cat(out)


def generate_sharded(
    model: DiffusionTransformer,
    diffusion: GaussianDiffusion,
    labels: torch.Tensor,
    *,
    rank: int = 0,
    world_size: int = 1,
    batch_size: int = 64,
    seed: int = 0,
    codec: LatentCodec | None = None,
    **sample_kwargs,
) -> torch.Tensor:
    """:func:`generate` split over the processes of a group: process r draws chunks r, r + W, ... and every
    process gets all (N, C, H, W) images, equal to a one-process :func:`generate` (chunk k seeded ``seed + k``)."""
    from ..engine.distributed import all_gather_objects

    starts = list(range(0, len(labels), batch_size))
    mine = {k: generate_chunk(model, diffusion, labels[starts[k]:starts[k] + batch_size], seed + k, codec=codec,
                              **sample_kwargs) for k in range(rank, len(starts), world_size)}
    chunks: dict[int, torch.Tensor] = {}
    for part in (all_gather_objects(mine) if world_size > 1 else [mine]):
        chunks.update(part)
    return torch.cat([chunks[k] for k in range(len(starts))])


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) in [-1, 1] -> (N, 3, H, W) uint8 RGB as DiT's sampler does (``clamp(127.5 x + 128)``, grey
    repeated to 3 channels); a uint8 Fashion-MNIST image scaled to [-1, 1] comes back unchanged."""
    if images.dtype == torch.uint8:
        x = images
    else:
        x = torch.clamp(127.5 * images.float() + 128.0, 0, 255).to(torch.uint8)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[1] != 3:
        raise ValueError(f"expected 1 or 3 image channels, got {x.shape[1]}")
    return x.contiguous()


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int) -> Path:
    """Save (N, C, H, W) images in [-1, 1] as one PNG grid, ``nrow`` images per row."""
    from torchvision.utils import save_image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images.add(1).div(2), path, nrow=nrow, padding=2, pad_value=1.0)
    return path
