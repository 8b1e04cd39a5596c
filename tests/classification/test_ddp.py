"""`emov2 train` under torchrun with 2 CPU processes (gloo): data is sharded, only rank 0 writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from .train_helpers import TINY


def test_torchrun_two_processes(image_dataset: Path, tmp_path: Path, subprocess_env: dict) -> None:
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "emov2",
           "train", "--data", str(image_dataset), "--output", str(out), "--epochs", "1", *TINY]
    proc = subprocess.run(cmd, env=subprocess_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "2 process(es)" in proc.stdout + proc.stderr
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    # global batch 8 = 2 x 4: 24 images -> 3 steps per process, every image seen once across the two ranks
    assert [r["samples"] for r in rows if r["kind"] == "epoch"] == [24]
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["epoch"] == 1 and len(state["rng"]) == 2 and not any(k.startswith("module.") for k in state["model"])
    assert (out / "best.safetensors").is_file()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no temp files left
