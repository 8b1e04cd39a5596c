"""Checkpoint loading, pixel-space generation (decoding latents when a VAE was used) and image grids."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .data import LatentCodec
from .diffusion import GaussianDiffusion, sample
from .dit import DiffusionTransformer
from .registry import create_generator

__all__ = ["generate", "load_generator", "save_grid"]


def load_generator(
    checkpoint: str | os.PathLike, *, ema: bool = True, vae: str | os.PathLike | None = None, device: str = "cpu"
) -> tuple[DiffusionTransformer, GaussianDiffusion, dict, LatentCodec | None]:
    """Rebuild a generator from a ``gen train`` checkpoint: (model in eval mode, diffusion, meta, codec).

    ``ema`` picks the EMA weights; ``vae`` overrides the VAE folder recorded at training time.
    """
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if "model_args" not in ckpt:
        raise ValueError(f"{path} is not a checkpoint written by `emov2 gen train`")
    args = dict(ckpt["model_args"])
    model = create_generator(args.pop("name"), **args)
    model.load_state_dict(ckpt["ema" if ema and "ema" in ckpt else "model"])
    model.to(device).eval()
    diffusion = GaussianDiffusion(learn_sigma=model.learn_sigma)
    vae = vae or ckpt.get("config", {}).get("vae")
    codec = LatentCodec(vae).to(device) if vae else None
    return model, diffusion, ckpt, codec


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

    Batches are seeded ``seed, seed + 1, ...`` so results do not depend on anything else.
    """
    out = []
    for i, start in enumerate(range(0, len(labels), batch_size)):
        gen = torch.Generator().manual_seed(seed + i)
        x = sample(model, diffusion, labels[start:start + batch_size], generator=gen, progress=progress,
                   **sample_kwargs)
        if codec is not None:
            x = codec.decode(x)
        out.append(x.clamp(-1, 1).cpu())
    return torch.cat(out)


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int) -> Path:
    """Save (N, C, H, W) images in [-1, 1] as one PNG grid, ``nrow`` images per row."""
    from torchvision.utils import save_image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images.add(1).div(2), path, nrow=nrow, padding=2, pad_value=1.0)
    return path
