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


# Flags that make a training run tiny: emov2_1m at 32 px (one 2x2 window in stage 3), a few steps.
TINY = ["--model", "emov2_1m", "--img-size", "32", "--window-size", "2", "--batch-size", "8", "--workers", "0",
        "--warmup", "1", "--lr", "1e-3", "--no-progress", "--threads", "1"]
