"""ImageNet-layout folders (``ROOT/<class>/<image>``) with checks that turn bad input into clear errors.

A missing or empty folder, or a class folder without images, raises ``ValueError``/``FileNotFoundError``
with one line naming the path. Unreadable or truncated images are not fatal: the dataset returns ``None``
for them, :func:`collate_skip_bad` drops them and counts them, and the trainer reports the count (and stops
only when every image is bad).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

__all__ = ["IMG_EXTENSIONS", "ImageFolderChecked", "collate_skip_bad", "scan_image_folder"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


def scan_image_folder(root: str | os.PathLike) -> tuple[list[tuple[str, int]], list[str]]:
    """(path, class index) pairs and the sorted class names of ``root/<class>/<image>``."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"data folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise ValueError(f"{root} has no class folders (expected {root}/<class>/<image>)")
    samples: list[tuple[str, int]] = []
    for i, c in enumerate(classes):
        files = sorted(
            str(p) for p in (root / c).rglob("*") if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS
        )
        if not files:
            raise ValueError(f"class folder {root / c} has no images (looked for {', '.join(IMG_EXTENSIONS)})")
        samples.extend((f, i) for f in files)
    return samples, classes


class ImageFolderChecked(Dataset):
    """``ROOT/<class>/<image>`` as ``(image tensor, class index)``; ``None`` for an unreadable image.

    Args:
        root: the folder (one sub-folder per class).
        transform: PIL image -> tensor.
        classes: expected class names (e.g. a checkpoint's); a different set raises ``ValueError``.
        grayscale: read images as grey and repeat them to RGB (models trained on grey data).
    """

    def __init__(self, root: str | os.PathLike, transform=None, classes: list[str] | None = None,
                 grayscale: bool = False) -> None:
        self.root = Path(root)
        self.samples, self.classes = scan_image_folder(root)
        if classes is not None and list(classes) != self.classes:
            raise ValueError(f"classes do not match: the checkpoint has {len(classes)} "
                             f"({_preview(classes)}), {self.root} has {len(self.classes)} ({_preview(self.classes)})")
        self.transform, self.grayscale = transform, grayscale
        self.targets = [t for _, t in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> Image.Image | None:
        path = self.samples[index][0]
        try:
            with Image.open(path) as im:
                im = im.convert("L").convert("RGB") if self.grayscale else im.convert("RGB")
            return im
        except (OSError, UnidentifiedImageError, ValueError):
            return None

    def __getitem__(self, index: int):
        im = self.load(index)
        if im is None:
            return None
        return (self.transform(im) if self.transform else im), self.samples[index][1]


def _preview(names: list[str], n: int = 4) -> str:
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")


def collate_skip_bad(batch: list) -> tuple[torch.Tensor | None, torch.Tensor | None, int]:
    """Stack the good samples; returns (images (B, 3, H, W), labels (B,), number of unreadable samples)."""
    good = [b for b in batch if b is not None]
    bad = len(batch) - len(good)
    if not good:
        return None, None, bad
    return torch.stack([g[0] for g in good]), torch.tensor([g[1] for g in good]), bad
