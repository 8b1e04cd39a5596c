"""ADE20K-layout semantic segmentation data: ``images/<split>/*.jpg|png`` with ``annotations/<split>/*.png``;
:class:`RepeatedDataset` repeats a small data set (mmseg's RepeatDataset).

Label PNGs hold class indices; 255 is ignored. With ``reduce_zero_label`` (ADE20K) label 0 ("other")
becomes 255 and every other label ``l`` becomes ``l - 1``. Bad input: an image without a label file (or the
reverse) is counted in :attr:`SegmentationFolder.skipped` (``unpaired``); a label whose size differs from its
image or holds a class id ``>= num_classes`` (other than 255) raises ``ValueError`` naming the file.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image

__all__ = ["RepeatedDataset", "SegmentationFolder"]

_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class SegmentationFolder(torch.utils.data.Dataset):
    """Item: ``(image (3, H, W) float 0..1, label (H, W) int64)`` after ``transforms(image, label)``."""

    def __init__(self, root: str | os.PathLike, split: str, num_classes: int, reduce_zero_label: bool = False,
                 transforms=None) -> None:
        root = Path(root)
        img_dir, lab_dir = root / "images" / split, root / "annotations" / split
        for d in (img_dir, lab_dir):
            if not d.is_dir():
                raise FileNotFoundError(f"folder not found: {d} (expected ADE20K layout images/ and annotations/)")
        labels = {p.stem: p for p in lab_dir.iterdir() if p.suffix == ".png"}
        images = {p.stem: p for p in img_dir.iterdir() if p.suffix.lower() in _EXTS}
        self.skipped = Counter(unpaired=len(set(images) ^ set(labels)))
        if not self.skipped["unpaired"]:
            del self.skipped["unpaired"]
        self.pairs = [(images[k], labels[k]) for k in sorted(set(images) & set(labels))]
        self.num_classes = num_classes
        self.reduce_zero_label = reduce_zero_label
        self.transforms = transforms

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Untransformed ``(image, label)`` with the label checked and reduced."""
        ip, lp = self.pairs[idx]
        img = Image.open(ip).convert("RGB")
        lab = Image.open(lp)
        if lab.size != img.size:
            raise ValueError(f"{lp}: label size {lab.size} differs from image size {img.size}")
        lab = np.asarray(lab)
        if lab.ndim != 2:
            raise ValueError(f"{lp}: label PNG must have one channel of class indices")
        lab = lab.astype(np.int64)
        if self.reduce_zero_label:
            lab = np.where(lab == 0, 255, lab - 1)
            lab[lab == 254] = 255
        bad = (lab != 255) & (lab >= self.num_classes)
        if bad.any():
            raise ValueError(f"{lp}: class id {int(lab[bad].max())} out of range 0..{self.num_classes - 1}")
        image = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255.0
        return image, torch.from_numpy(lab)

    def __getitem__(self, idx: int):
        image, label = self.load(idx)
        if self.transforms is not None:
            image, label = self.transforms(image, label)
        return image, label


class RepeatedDataset(torch.utils.data.Dataset):
    """``dataset`` repeated ``repeat`` times (mmseg's ``RepeatDataset``: item ``i`` is ``dataset[i % len]``), so a
    data set of a few photos fills the batches of an epoch. Augmentation randomness comes from the engine's
    per-sample seeding (:class:`emov2.engine.data.SeededDataset`), so each repeat draws afresh."""

    def __init__(self, dataset, repeat: int = 1) -> None:
        if repeat < 1:
            raise ValueError(f"repeat must be >= 1, got {repeat}")
        if len(dataset) == 0:
            raise ValueError("cannot repeat an empty data set")
        self.dataset, self.repeat = dataset, repeat

    def __len__(self) -> int:
        return self.repeat * len(self.dataset)

    def __getitem__(self, idx: int):
        if not 0 <= idx < len(self):
            raise IndexError(f"index {idx} out of range for {len(self)} samples")
        return self.dataset[idx % len(self.dataset)]

    def __getattr__(self, name):  # num_classes, skipped, ... of the repeated data set
        if name in ("dataset", "repeat"):
            raise AttributeError(name)
        return getattr(self.dataset, name)
