"""Image files named on a command line: folders expanded, each file read once as RGB with a clear error."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import UnidentifiedImageError

from .decode import read_image

__all__ = ["PREDICT_EXTENSIONS", "list_images", "read_rgb_tensor"]

PREDICT_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def list_images(paths: list[str | os.PathLike]) -> list[Path]:
    """Files given, and the images inside folders given (sorted); an empty result or a missing path is an error."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix.lower() in PREDICT_EXTENSIONS)
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"no such image or folder: {p}")
    if not files:
        raise ValueError(f"no images found in {', '.join(map(str, paths))}")
    return files


def read_rgb_tensor(path: str | os.PathLike) -> torch.Tensor:
    """(3, H, W) float in [0, 1], read as training reads images (:func:`emov2.data.decode.read_image`)."""
    try:
        im = read_image(path)
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise ValueError(f"cannot read image {path} ({e})") from None
    return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float() / 255
