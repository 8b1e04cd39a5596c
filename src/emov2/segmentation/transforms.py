"""Segmentation augmentations (paper §3.3 / §3.4, mmseg semantics): random resize (ratio 0.5-2 of a base scale),
random crop (``cat_max_ratio`` 0.75), horizontal flip, photometric distortion; test: keep-ratio resize to the base
scale.

All callables take and return ``(image (3, H, W) float 0..1, label (H, W) int64)``. Training normalises with the
ImageNet mean/std and then pads crops smaller than the crop size with 0 (image, i.e. the mean colour, as mmseg's
data preprocessor) and 255 (label, ignored). Randomness comes from Python's ``random`` module only, so seeding it
per sample (:class:`emov2.engine.data.SeededDataset`) fixes every augmentation.
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

__all__ = ["Normalize", "PhotoMetricDistortion", "SegEval", "SegTrain"]

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _rescale_size(h: int, w: int, scale: tuple[int, int]) -> tuple[int, int]:
    """mmcv keep-ratio rescale: fit ``(h, w)`` inside ``max(scale)`` long side and ``min(scale)`` short side."""
    f = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return max(1, round(h * f)), max(1, round(w * f))


class Normalize:
    """ImageNet normalisation of the image; the label passes through."""

    def __call__(self, image, label):
        return TF.normalize(image, MEAN, STD), label


class PhotoMetricDistortion:
    """mmseg's ``PhotoMetricDistortion`` on a ``(3, H, W)`` float 0..1 image; each step has probability 0.5.

    Brightness ``+ U(-32, 32) / 255``; contrast ``x U(0.5, 1.5)`` (no mean centring), done first or last at random;
    saturation ``x U(0.5, 1.5)``; hue ``+ U{-18..18}`` of OpenCV's 180-step circle. Values are clipped to 0..1
    after every step. Saturation uses torchvision's ``adjust_saturation`` (a blend with the grey image) where mmseg
    scales S in OpenCV's HSV; the other steps are mmseg's formulas.
    """

    def __init__(self, brightness_delta: int = 32, contrast_range: tuple[float, float] = (0.5, 1.5),
                 saturation_range: tuple[float, float] = (0.5, 1.5), hue_delta: int = 18) -> None:
        self.brightness_delta, self.contrast_range = brightness_delta, contrast_range
        self.saturation_range, self.hue_delta = saturation_range, hue_delta

    def _contrast(self, img: torch.Tensor) -> torch.Tensor:
        return (img * random.uniform(*self.contrast_range)).clamp(0, 1) if random.randint(0, 1) else img

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if random.randint(0, 1):
            img = (img + random.uniform(-self.brightness_delta, self.brightness_delta) / 255).clamp(0, 1)
        contrast_first = random.randint(0, 1)
        if contrast_first:
            img = self._contrast(img)
        if random.randint(0, 1):
            img = TF.adjust_saturation(img, random.uniform(*self.saturation_range)).clamp(0, 1)
        if random.randint(0, 1):
            img = TF.adjust_hue(img, random.randint(-self.hue_delta, self.hue_delta) / 180).clamp(0, 1)
        if not contrast_first:
            img = self._contrast(img)
        return img


class SegTrain:
    """The paper's training pipeline for one sample: random resize, crop, flip, photometric distortion,
    normalisation, padding to the crop size."""

    def __init__(self, crop: int = 512, scale: tuple[int, int] = (2048, 512), ratio: tuple[float, float] = (0.5, 2.0),
                 cat_max_ratio: float = 0.75, ignore_index: int = 255) -> None:
        self.crop, self.scale, self.ratio = crop, tuple(scale), ratio
        self.cat_max_ratio, self.ignore_index = cat_max_ratio, ignore_index
        self.photo = PhotoMetricDistortion()

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
        image, label = Normalize()(self.photo(image), label)
        ph, pw = self.crop - image.shape[1], self.crop - image.shape[2]
        if ph > 0 or pw > 0:
            image = F.pad(image, (0, max(0, pw), 0, max(0, ph)), value=0.0)
            label = F.pad(label, (0, max(0, pw), 0, max(0, ph)), value=self.ignore_index)
        return image, label


class SegEval:
    """Keep-ratio resize of the image to the base scale (the label stays at full resolution), normalise."""

    def __init__(self, scale: tuple[int, int] = (2048, 512)) -> None:
        self.scale = tuple(scale)

    def __call__(self, image: torch.Tensor, label: torch.Tensor):
        h, w = _rescale_size(*image.shape[1:], self.scale)
        return Normalize()(TF.resize(image, [h, w], antialias=True), label)
