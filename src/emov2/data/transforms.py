"""Train and eval transforms for image folders, built with timm's ``create_transform``.

Train (paper §3.1): RandomResizedCrop with random interpolation, horizontal flip, RandAugment
``rand-m9-mstd0.5-inc1``, no random erasing. Eval: resize to ``size / crop_pct`` (bicubic), centre crop.
Both start with :class:`ToRGB`, so grey, 16-bit, palette, CMYK and transparent images are accepted, and the
train transform's posterize op is kept within Pillow's valid bits (see :mod:`emov2.data.augment`).
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, create_transform
from torchvision.transforms import Compose

from .augment import fix_posterize
from .decode import to_rgb

__all__ = ["ToRGB", "build_eval_transform", "build_train_transform"]


class ToRGB:
    """PIL image of any mode -> 8-bit RGB PIL image (:func:`emov2.data.decode.to_rgb`)."""

    def __call__(self, im: Image.Image) -> Image.Image:
        return to_rgb(im)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def build_train_transform(
    img_size: int, *, auto_augment: str | None = "rand-m9-mstd0.5-inc1", interpolation: str = "random",
    hflip: float = 0.5, scale: Sequence[float] = (0.08, 1.0), ratio: Sequence[float] = (3 / 4, 4 / 3),
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN, std: Sequence[float] = IMAGENET_DEFAULT_STD,
) -> Compose:
    """PIL image -> (3, S, S) float tensor with the paper's training augmentation."""
    tf = create_transform(
        img_size, is_training=True, auto_augment=auto_augment or None, interpolation=interpolation,
        hflip=hflip, scale=tuple(scale), ratio=tuple(ratio), re_prob=0.0, mean=tuple(mean), std=tuple(std),
    )
    return fix_posterize(Compose([ToRGB(), *tf.transforms]))


def build_eval_transform(
    img_size: int, *, crop_pct: float = 0.875, interpolation: str = "bicubic",
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN, std: Sequence[float] = IMAGENET_DEFAULT_STD,
) -> Compose:
    """PIL image -> (3, S, S) float tensor: resize to ``S / crop_pct`` then centre crop ``S``."""
    tf = create_transform(
        img_size, is_training=False, crop_pct=crop_pct, interpolation=interpolation, mean=tuple(mean),
        std=tuple(std),
    )
    return Compose([ToRGB(), *tf.transforms])
