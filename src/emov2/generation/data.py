"""Training data for the generators: Fashion-MNIST (IDX files) or an image folder, and the optional VAE.

Images come out as (C, S, S) float tensors in [-1, 1] with an integer class label. Fashion-MNIST is resized
28 -> S px exactly as ``emov2 train`` resizes it for the classifier that scores the samples, so real and generated
images share one geometry. Latent mode encodes images with a local diffusers ``AutoencoderKL`` folder (never
downloaded).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch.utils.data import Dataset, TensorDataset

from ..data.fashion_mnist import find_fashion_mnist, load_fashion_mnist
from ..data.tensor_loader import resize_uint8

__all__ = ["LatentCodec", "fashion_mnist", "image_folder", "load_dataset"]


def fashion_mnist(
    root: str | os.PathLike | None = None, split: str = "train", size: int = 32, limit: int | None = None
) -> TensorDataset:
    """Fashion-MNIST as a TensorDataset of (1, size, size) images in [-1, 1] and labels.

    The 28 px images are resized to ``size`` like ``emov2 train`` does (bilinear, antialiased, rounded to uint8).
    """
    images, labels = load_fashion_mnist(split, root)  # (N, 28, 28) uint8, (N,) int64
    if limit:
        images, labels = images[:limit], labels[:limit]
    x = resize_uint8(images, size).float().div(127.5).sub(1).unsqueeze(1)  # (N, 1, size, size) in [-1, 1]
    return TensorDataset(x, labels)


def image_folder(root: str | os.PathLike, size: int, channels: int = 3) -> Dataset:
    """``root/<class>/<image>`` (torchvision ImageFolder): centre crop, resize, random flip, scale to [-1, 1]."""
    from torchvision import datasets, transforms

    tf = [transforms.Grayscale()] if channels == 1 else [transforms.Lambda(lambda im: im.convert("RGB"))]
    tf += [
        transforms.Resize(size), transforms.CenterCrop(size), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(), transforms.Normalize([0.5] * channels, [0.5] * channels),
    ]
    return datasets.ImageFolder(str(root), transform=transforms.Compose(tf))


def load_dataset(data: str, size: int, channels: int, split: str = "train", limit: int | None = None):
    """``'fashion-mnist'`` (system IDX files), a folder of Fashion-MNIST IDX files, or an ImageFolder tree.

    Returns (dataset, num_classes).
    """
    if data == "fashion-mnist":
        return fashion_mnist(None, split, size, limit), 10  # FileNotFoundError with the install hint if absent
    root = Path(data)
    if not root.is_dir():
        raise FileNotFoundError(f"data directory {root} does not exist")
    if find_fashion_mnist(root) is not None:
        return fashion_mnist(root, split, size, limit), 10
    ds = image_folder(root, size, channels)
    return ds, len(ds.classes)


class LatentCodec(torch.nn.Module):
    """Pixels <-> scaled latents with a local diffusers ``AutoencoderKL`` (e.g. the SD VAE, 8x down, 4 ch).

    ``encode``: (N, 3, H, W) in [-1, 1] -> (N, 4, H/8, W/8) latents times ``scaling_factor``;
    ``decode``: the inverse. The folder must hold ``config.json`` and weights; nothing is downloaded.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        super().__init__()
        folder = Path(folder)
        if not (folder / "config.json").exists():
            raise FileNotFoundError(f"{folder} is not a local AutoencoderKL folder (no config.json)")
        from diffusers import AutoencoderKL

        self.vae = AutoencoderKL.from_pretrained(str(folder), local_files_only=True).eval().requires_grad_(False)
        self.scale = float(getattr(self.vae.config, "scaling_factor", 0.18215))
        self.latent_channels = int(self.vae.config.latent_channels)
        self.downsample = 2 ** (len(self.vae.config.block_out_channels) - 1)

    @torch.no_grad()
    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.vae.encode(x).latent_dist.sample(generator) * self.scale

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z / self.scale).sample.clamp(-1, 1)
