"""Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (IDX files), loaded once into uint8 tensors.

Search order: ``$EMOV2_FASHION_MNIST``, ``/usr/share/datasets/fashion-mnist``. With ``download=True`` (off by
default) torchvision's downloader is the documented fallback for machines with internet.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch

__all__ = ["FASHION_MNIST_CLASSES", "find_fashion_mnist", "load_fashion_mnist"]

FASHION_MNIST_CLASSES = [
    "t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
]
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


def _torchvision_download(root: Path) -> Path:
    from torchvision.datasets import FashionMNIST

    FashionMNIST(str(root), train=True, download=True)
    FashionMNIST(str(root), train=False, download=True)
    return root / "FashionMNIST" / "raw"


def load_fashion_mnist(
    split: str, root: str | os.PathLike | None = None, download: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of ``split`` ('train': 60,000, 'test': 10,000)."""
    if split not in _FILES:
        raise ValueError(f"unknown Fashion-MNIST split {split!r}; expected 'train' or 'test'")
    folder = find_fashion_mnist(root)
    if folder is None and download:
        folder = _torchvision_download(Path(root or Path.home() / ".cache" / "emov2"))
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
