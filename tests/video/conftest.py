"""Fixtures for the video tests: a tiny moving-garment set (real MP4 files) and one tiny training run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("av", reason="PyAV is not installed (pip install 'emov2[video]')")

SRC = str(Path(__file__).resolve().parents[2] / "src")

# A tiny run: test_v_emov2 on 4 x 32^2 clips, flip off (it swaps left and right), a few steps.
TINY = ["--model", "test_v_emov2", "--img-size", "32", "--short-side", "36", "--num-frames", "4", "--hflip", "0",
        "--randaug-layers", "2", "--batch-size", "4", "--workers", "0", "--lr", "1e-3", "--warmup", "0",
        "--sched-length", "none", "--no-progress", "--threads", "1", "--log-interval", "1"]


def tiny_garments(n: int = 4) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(0)
    pool = torch.from_numpy(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
    return {"train": pool, "val": pool.flip(-1)}


def make_motion_set(root: Path) -> Path:
    """root/{train,val}/<motion>/*.mp4 (7 classes; 2 train and 1 val video each, 8 frames of 32x32)."""
    from emov2.data.video.synthetic import make_videos

    make_videos(root, per_class_train=2, per_class_val=1, num_frames=8, size=32, garments=tiny_garments(),
                progress=False)
    return root


@pytest.fixture(scope="session")
def motion_set(tmp_path_factory) -> Path:
    return make_motion_set(tmp_path_factory.mktemp("motion") / "data")


@pytest.fixture(scope="session")
def trained_video_run(tmp_path_factory, motion_set: Path) -> Path:
    """4 steps of test_v_emov2 on the tiny set, evaluated before (step 0), at step 2 and at the end."""
    from emov2.cli.main import main

    out = tmp_path_factory.mktemp("video_run") / "out"
    assert main(["video", "train", "--data", str(motion_set), "--output", str(out), "--iters", "4",
                 "--eval-interval", "2", "--eval-first", *TINY]) == 0
    return out


@pytest.fixture
def subprocess_env() -> dict:
    """Environment for child processes: this checkout's sources first, one thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["OMP_NUM_THREADS"] = "1"
    return env
