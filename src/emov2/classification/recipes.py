"""Which recipe fits a run when the user gives none: the paper's ImageNet recipe is made for 1.28M images
(20 warm-up epochs, RandAugment m9, EMA 0.9998); a small folder, or fine-tuning, needs a short one."""

from __future__ import annotations

import os
from pathlib import Path

from ..data.folder import IMG_EXTENSIONS

__all__ = ["SMALL_DATA", "choose_recipe", "count_images"]

SMALL_DATA = 20_000  # training images below which the ImageNet recipe is the wrong default


def count_images(root: str | os.PathLike, limit: int) -> int:
    """Images under ``root`` (recursively), counting at most to ``limit``."""
    n = 0
    for _, _, files in os.walk(root, followlinks=False):
        n += sum(1 for f in files if f.lower().endswith(IMG_EXTENSIONS))
        if n >= limit:
            return n
    return n


def choose_recipe(data: str, initial_checkpoint: str | None) -> tuple[str, str] | None:
    """(recipe name, the reason to print), or None to keep the defaults (the paper's ImageNet recipe)."""
    if not data:
        return None
    if data.lower().replace("_", "-") == "fashion-mnist":
        return "fashion_mnist", "the embedded Fashion-MNIST set"
    if initial_checkpoint:
        return "finetune", f"fine-tuning from {initial_checkpoint}"
    train = Path(data) / "train"
    if train.is_dir():
        n = count_images(train, SMALL_DATA)
        if n < SMALL_DATA:
            return "finetune", (f"{train} has {n} images, fewer than {SMALL_DATA:,}: the ImageNet recipe's 20 "
                                "warm-up epochs, RandAugment m9 and 0.9998 EMA are made for 1.28M")
    return "imagenet_224", "the paper's ImageNet-1K recipe"
