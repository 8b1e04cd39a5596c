"""`emov2 det train` under torchrun: two CPU processes (gloo) train, rank 0 evaluates and writes once."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.slow
def test_det_train_torchrun_two_processes(tmp_path, rect_coco):
    images, ann, _ = rect_coco
    out = tmp_path / "ddp"
    path = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "emov2.cli.main", "det", "train", "--arch", "ssdlite", "--backbone", "emov2_1m",
           "--train-ann", str(ann), "--train-images", str(images), "--val-ann", str(ann), "--val-images", str(images),
           "--output", str(out), "--iters", "2", "--batch-size", "4", "--size", "96", "--warmup-iters", "1",
           "--log-interval", "1", "--workers", "0"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["kind"] == "train"] == [1, 2]  # rank 0 only: no duplicate rows
    assert [r["step"] for r in rows if r["kind"] == "eval"] == [0, 2]  # before training (eval_first) and at the end
    for f in ("last.pt", "best.safetensors", "final.safetensors", "curves.png"):
        assert (out / f).is_file()
    assert proc.stdout.count("samples/s") == 1
