"""Read the Debian ``dataset-fashion-mnist`` files (gzip IDX) without torchvision's downloader."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

__all__ = ["CLASSES", "DEFAULT_ROOT", "load_fashion_mnist", "read_idx"]

DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file (optionally gzipped) as a numpy array of its declared shape (uint8 data only)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        b = f.read()
    if len(b) < 4 or b[0] != 0 or b[1] != 0 or b[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


def load_fashion_mnist(split: str = "train", root: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(images (N, 28, 28) uint8, labels (N,) uint8)`` of the ``train`` or ``t10k`` split."""
    root = Path(root or os.environ.get("EMOV2_FASHION_MNIST", DEFAULT_ROOT))
    img, lab = root / f"{split}-images-idx3-ubyte.gz", root / f"{split}-labels-idx1-ubyte.gz"
    if not img.is_file() or not lab.is_file():
        raise FileNotFoundError(
            f"Fashion-MNIST not found under {root} (install the Debian package dataset-fashion-mnist "
            "or set EMOV2_FASHION_MNIST)"
        )
    return read_idx(img), read_idx(lab)
