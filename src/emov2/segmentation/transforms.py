"""Segmentation augmentations (paper §3.3): random resize (ratio 0.5-2 of a base scale), random crop
(``cat_max_ratio`` 0.75), horizontal flip, photometric distortion; test: keep-ratio resize to the base scale.

All callables take and return ``(image (3, H, W) float 0..1, label (H, W) int64)``; padding uses 0 for the
image and 255 (ignored) for the label. Normalisation happens in :class:`Normalize` (ImageNet mean/std).
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

__all__ = ["Normalize", "SegEval", "SegTrain"]

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _rescale_size(h: int, w: int, scale: tuple[int, int]) -> tuple[int, int]:
    """mmcv keep-ratio rescale: fit ``(h, w)`` inside ``max(scale)`` long side and ``min(scale)`` short side."""
    f = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return max(1, round(h * f)), max(1, round(w * f))


class Normalize:
    """ImageNet normalisation of the image; the label passes through."""

    def __call__(self, image, label):
        return TF.normalize(image, MEAN, STD), label


class SegTrain:
    """The paper's training pipeline for one sample, then normalisation."""

    def __init__(self, crop: int = 512, scale: tuple[int, int] = (2048, 512), ratio: tuple[float, float] = (0.5, 2.0),
                 cat_max_ratio: float = 0.75, ignore_index: int = 255) -> None:
        self.crop, self.scale, self.ratio = crop, tuple(scale), ratio
        self.cat_max_ratio, self.ignore_index = cat_max_ratio, ignore_index
        self.photo = v2.RandomPhotometricDistort(p=0.5)

    def _crop_box(self, label: torch.Tensor) -> tuple[int, int]:
        h, w = label.shape
        for _ in range(10):  # retry crops dominated by one class (mmseg cat_max_ratio)
            y, x = random.randint(0, max(0, h - self.crop)), random.randint(0, max(0, w - self.crop))
            patch = label[y: y + self.crop, x: x + self.crop]
            _, counts = torch.unique(patch[patch != self.ignore_index], return_counts=True)
            if len(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio:
                break
        return y, x

    def __call__(self, image: torch.Tensor, label: torch.Tensor):
        r = random.uniform(*self.ratio)
        h, w = _rescale_size(*image.shape[1:], (int(self.scale[0] * r), int(self.scale[1] * r)))
        image = TF.resize(image, [h, w], antialias=True)
        label = TF.resize(label[None], [h, w], interpolation=v2.InterpolationMode.NEAREST)[0]
        y, x = self._crop_box(label)
        image, label = image[:, y: y + self.crop, x: x + self.crop], label[y: y + self.crop, x: x + self.crop]
        if random.random() < 0.5:
            image, label = image.flip(-1), label.flip(-1)
        image = self.photo(image).clamp(0, 1)
        ph, pw = self.crop - image.shape[1], self.crop - image.shape[2]
        if ph > 0 or pw > 0:
            image = F.pad(image, (0, max(0, pw), 0, max(0, ph)), value=0.0)
            label = F.pad(label, (0, max(0, pw), 0, max(0, ph)), value=self.ignore_index)
        return Normalize()(image, label)


class SegEval:
    """Keep-ratio resize of the image to the base scale (the label stays at full resolution), normalise."""

    def __init__(self, scale: tuple[int, int] = (2048, 512)) -> None:
        self.scale = tuple(scale)

    def __call__(self, image: torch.Tensor, label: torch.Tensor):
        h, w = _rescale_size(*image.shape[1:], self.scale)
        return Normalize()(TF.resize(image, [h, w], antialias=True), label)
