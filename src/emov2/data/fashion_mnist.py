"""Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (IDX files), loaded once into uint8 tensors.

Search order: ``$EMOV2_FASHION_MNIST``, ``/usr/share/datasets/fashion-mnist``. Nothing is downloaded: when the
files are missing the error says how to install them.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch

__all__ = ["FASHION_MNIST_CLASSES", "FASHION_MNIST_MEAN", "FASHION_MNIST_STD", "find_fashion_mnist",
           "fashion_mnist_inputs", "holdout_split", "load_fashion_mnist"]

FASHION_MNIST_CLASSES = [
    "t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
]
FASHION_MNIST_MEAN = (0.2860,) * 3  # statistics of the 60,000 training images, repeated to 3 channels
FASHION_MNIST_STD = (0.3530,) * 3
_DEFAULT_DIRS = ("/usr/share/datasets/fashion-mnist",)
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _read_idx(path: Path) -> np.ndarray:
    """An IDX array (``.gz`` or raw): uint8 with the header's dimensions."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
    arr = np.frombuffer(b, np.uint8, offset=4 + 4 * nd)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: truncated IDX file ({arr.size} values, header says {dims})")
    return arr.reshape(dims)


def _locate(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def find_fashion_mnist(root: str | os.PathLike | None = None) -> Path | None:
    """The folder holding the four IDX files, or None."""
    candidates = [root] if root else [os.environ.get("EMOV2_FASHION_MNIST"), *_DEFAULT_DIRS]
    for c in candidates:
        if c and all(_locate(Path(c), s) for pair in _FILES.values() for s in pair):
            return Path(c)
    return None


def load_fashion_mnist(split: str, root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of ``split`` ('train': 60,000, 'test': 10,000)."""
    if split not in _FILES:
        raise ValueError(f"unknown Fashion-MNIST split {split!r}; expected 'train' or 'test'")
    folder = find_fashion_mnist(root)
    if folder is None:
        raise FileNotFoundError(
            "Fashion-MNIST not found: install it with `apt-get install dataset-fashion-mnist` (files in "
            "/usr/share/datasets/fashion-mnist) or set EMOV2_FASHION_MNIST to a folder with the IDX files")
    img_file, lbl_file = (_locate(folder, s) for s in _FILES[split])
    images = torch.from_numpy(_read_idx(img_file).copy())
    labels = torch.from_numpy(_read_idx(lbl_file).astype(np.int64))
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{folder}: {images.shape[0]} images but {labels.shape[0]} labels in the {split} split")
    return images, labels


def holdout_split(n: int, holdout: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, held-out indices) of ``n`` samples: a fixed random ``holdout`` kept for validation, so
    model selection never sees the test set. The split depends on ``seed`` only (not on the run's seed)."""
    if not 0 < holdout < n:
        raise ValueError(f"the validation hold-out must be between 1 and {n - 1} images, got {holdout}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[holdout:].sort().values, order[:holdout].sort().values


def fashion_mnist_inputs(split: str, img_size: int, mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD, *,
                         limit: int | None = None, seed: int = 0, root: str | os.PathLike | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Model inputs (N, 3, S, S) float and labels (N,) of ``split``, preprocessed exactly as the trainer does
    (antialiased resize to uint8, grey repeated to 3 channels, normalised); ``limit`` takes a fixed random subset."""
    from .tensor_loader import resize_uint8

    images, labels = load_fashion_mnist(split, root)
    if limit is not None and limit < len(labels):
        idx = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:limit]
        images, labels = images[idx], labels[idx]
    x = resize_uint8(images, img_size)[:, None].float() / 255
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return ((x.expand(-1, m.shape[1], -1, -1) - m) / s).contiguous(), labels
