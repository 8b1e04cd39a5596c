"""Checkpoint loading (weights-only), pixel-space generation (decoding latents when a VAE was used), uint8
conversion and image grids."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..utils.files import CheckpointError, load_weights_only
from .data import LatentCodec
from .diffusion import GaussianDiffusion, sample
from .dit import DiffusionTransformer
from .registry import create_generator

__all__ = [
    "diffusion_from_config",
    "generate",
    "generate_chunk",
    "load_generator",
    "read_checkpoint",
    "save_grid",
    "to_uint8",
]


def read_checkpoint(path: str | os.PathLike) -> dict:
    """A ``gen train`` checkpoint as a dict, unpickled weights-only (a pickled object is refused with a one-line
    :class:`~emov2.utils.files.CheckpointError`, never executed)."""
    ckpt = load_weights_only(path, "generator checkpoint")
    if not isinstance(ckpt, dict) or "model_args" not in ckpt:
        raise CheckpointError(f"{path} is not a checkpoint written by `emov2 gen train` (no 'model_args')")
    return ckpt


def diffusion_from_config(config: dict) -> GaussianDiffusion:
    """The training objective recorded in a ``gen train`` config (defaults: DiT's linear ε with learned sigma)."""
    return GaussianDiffusion(
        num_timesteps=int(config.get("num_timesteps", 1000)), learn_sigma=bool(config.get("learn_sigma", True)),
        schedule=config.get("schedule", "linear"), prediction=config.get("prediction", "eps"),
        snr_gamma=float(config.get("snr_gamma", 0.0)),
    )


def load_generator(
    checkpoint: str | os.PathLike, *, ema: bool = True, vae: str | os.PathLike | None = None, device: str = "cpu"
) -> tuple[DiffusionTransformer, GaussianDiffusion, dict, LatentCodec | None]:
    """Rebuild a generator from a ``gen train`` checkpoint: (model in eval mode, diffusion, meta, codec).

    ``ema`` picks the EMA weights; ``vae`` overrides the VAE folder recorded at training time.
    """
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    ckpt = read_checkpoint(path)
    args = dict(ckpt["model_args"])
    model = create_generator(args.pop("name"), **args)
    model.load_state_dict(ckpt["ema" if ema and "ema" in ckpt else "model"])
    model.to(device).eval()
    config = dict(ckpt.get("config", {}))
    config.setdefault("learn_sigma", model.learn_sigma)
    diffusion = diffusion_from_config(config)
    vae = vae or config.get("vae")
    codec = LatentCodec(vae).to(device) if vae else None
    return model, diffusion, ckpt, codec


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
