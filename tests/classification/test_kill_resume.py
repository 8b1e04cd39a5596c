"""kill -9 in the middle of a run, then --resume: the model and EMA equal an uninterrupted run's, bit for bit
(data loaded by 2 worker processes with RandAugment, so augmentation must not depend on the worker)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from emov2.cli.main import main

from .train_helpers import TINY

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.mark.slow
def test_kill_minus_nine_then_resume(image_dataset: Path, tmp_path: Path) -> None:
    flags = ["--data", str(image_dataset), "--epochs", "4", "--ckpt-interval", "1", *TINY, "--workers", "2"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert main(["train", "--output", str(straight), *flags]) == 0
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "emov2", "train", "--output", str(killed), *flags], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    step, deadline = 0, time.time() + 300
    while step < 5 and proc.poll() is None and time.time() < deadline:  # kill somewhere in epoch 2 or later
        time.sleep(0.05)
        if (killed / "last.pt").is_file():
            try:
                step = torch.load(killed / "last.pt", weights_only=True)["step"]
            except Exception:  # noqa: BLE001  (a file being renamed into place)
                pass
    os.killpg(proc.pid, signal.SIGKILL)  # the trainer and its DataLoader workers
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert 5 <= torch.load(killed / "last.pt", weights_only=True)["step"] < 12
    assert main(["train", "--output", str(killed), "--resume"]) == 0
    a, b = (torch.load(run / "last.pt", weights_only=True) for run in (straight, killed))
    assert a["step"] == b["step"] == 12
    for part in ("model", "ema"):
        for k, v in a[part].items():
            assert torch.equal(v, b[part][k]), f"{part}.{k} differs after kill -9 and resume"
