"""Fixtures for the training tests: tiny ImageNet-layout folders generated in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SRC = str(Path(__file__).resolve().parents[2] / "src")


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


@pytest.fixture
def image_dataset(tmp_path: Path) -> Path:
    """tmp/ds/{train,val}/<class>/*.png with 3 classes (8 train, 4 val images each)."""
    ds = tmp_path / "ds"
    make_folder(ds / "train", per_class=8, seed=0)
    make_folder(ds / "val", per_class=4, seed=1)
    return ds


@pytest.fixture
def subprocess_env() -> dict:
    """Environment for child processes: this checkout's sources first, few threads."""
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["OMP_NUM_THREADS"] = "1"
    return env


# Flags that make a training run tiny: emov2_1m at 32 px (one 2x2 window in stage 3), a few steps.
TINY = ["--model", "emov2_1m", "--img-size", "32", "--window-size", "2", "--batch-size", "8", "--workers", "0",
        "--warmup-epochs", "1", "--lr", "1e-3", "--no-progress", "--threads", "1"]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """One tiny 1-epoch training run (3 classes, 24 images) shared by the tests that need a checkpoint."""
    from emov2.cli.main import main

    base = tmp_path_factory.mktemp("run")
    ds = base / "ds"
    make_folder(ds / "train", per_class=8, seed=0)
    make_folder(ds / "val", per_class=4, seed=1)
    assert main(["train", "--data", str(ds), "--output", str(base / "out"), "--epochs", "1", *TINY]) == 0
    return base / "out"
