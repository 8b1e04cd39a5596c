"""Fixtures for the training tests: tiny ImageNet-layout folders generated in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .train_helpers import TINY, make_folder

SRC = str(Path(__file__).resolve().parents[2] / "src")


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
