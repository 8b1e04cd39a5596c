"""Helpers for the training tests: synthetic image folders and the flags of a tiny run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def make_folder(root: Path, classes=("circle", "square", "stripes"), per_class: int = 8, size: int = 40,
                seed: int = 0) -> Path:
    """root/<class>/<i>.png: simple, separable synthetic RGB images (a different pattern per class)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    for ci, c in enumerate(classes):
        d = root / c
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
            if ci % 3 == 0:
                mask = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 3) ** 2
            elif ci % 3 == 1:
                mask = (abs(yy - size / 2) < size / 4) & (abs(xx - size / 2) < size / 4)
            else:
                mask = (xx // 4) % 2 == 0
            img[mask] = (200 + 20 * ci) % 256
            Image.fromarray(img).save(d / f"{i}.png")
    return root


_COLOURS = {"red": (200, 40, 40), "green": (40, 170, 60), "blue": (40, 70, 200), "yellow": (210, 190, 40),
            "purple": (140, 50, 170), "cyan": (40, 180, 190), "orange": (230, 130, 30), "grey": (128, 128, 128)}


def colour_image(rgb, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size, 3) uint8: ``rgb`` with a random tint and brightness, a smooth random texture, a darker blob
    and pixel noise (no two images alike; the class stays the hue)."""
    tint = np.asarray(rgb, float) + rng.uniform(-25, 25, 3)
    img = np.broadcast_to(tint * rng.uniform(0.7, 1.15), (size, size, 3)).copy()
    coarse = Image.fromarray(rng.normal(0, 1, (4, 4)).astype(np.float32), "F")
    img *= 1 + 0.15 * np.asarray(coarse.resize((size, size), Image.BILINEAR))[..., None]  # smooth texture
    yy, xx = np.mgrid[:size, :size]
    cy, cx, r = rng.uniform(0, size, 2).tolist() + [rng.uniform(size / 8, size / 3)]
    img[(yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2] *= rng.uniform(0.5, 0.8)  # a shadow
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_colour_folder(root: Path, classes=("red", "green", "blue"), per_class: int = 40, size: int = 32,
                       seed: int = 0, val_per_class: int | None = None) -> Path:
    """root/{train,val}/<class>/<i>.png: an easy ImageFolder whose class is the dominant colour (named colours
    from ``_COLOURS``, other names get an evenly spaced hue), with texture and noise. ``per_class`` training and
    ``val_per_class`` (default ``per_class // 2``) validation PNGs per class."""
    import colorsys

    root = Path(root)
    val_per_class = max(1, per_class // 2) if val_per_class is None else val_per_class
    for split, n, split_seed in (("train", per_class, seed), ("val", val_per_class, seed + 10_000)):
        rng = np.random.default_rng(split_seed)
        for ci, c in enumerate(classes):
            rgb = _COLOURS.get(c) or tuple(int(200 * v + 30) for v in colorsys.hsv_to_rgb(ci / len(classes), 0.8, 0.9))
            d = root / split / c
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(colour_image(rgb, size, rng)).save(d / f"{i}.png")
    return root


# Flags that make a training run tiny: emov2_1m at 32 px (one 2x2 window in stage 3), a few steps.
TINY = ["--model", "emov2_1m", "--img-size", "32", "--window-size", "2", "--batch-size", "8", "--workers", "0",
        "--warmup", "1", "--lr", "1e-3", "--no-progress", "--threads", "1"]
