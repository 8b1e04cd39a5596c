"""`emov2 video train` under torchrun (2 CPU processes, gloo) and ONNX export of a trained video model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import emov2
from emov2.cli.main import main

from .conftest import TINY


def test_torchrun_two_processes(motion_set: Path, tmp_path: Path, subprocess_env: dict) -> None:
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "emov2",
           "video", "train", "--data", str(motion_set), "--output", str(out), "--epochs", "1", *TINY]
    proc = subprocess.run(cmd, env=subprocess_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "2 process(es)" in proc.stdout + proc.stderr
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    # global batch 4 = 2 x 2: 14 videos -> 3 steps, 12 videos read once across the two ranks; val 7 videos once
    epoch = [r for r in rows if r["kind"] == "epoch"]
    assert [r["samples"] for r in epoch] == [12]
    assert [r["videos"] for r in rows if r["kind"] == "eval"] == [7]
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["epoch"] == 1 and len(state["rng"]) == 2 and not any(k.startswith("module.") for k in state["model"])
    assert (out / "best.safetensors").is_file() and (out / "best.json").is_file()


def test_onnx_export_parity(trained_video_run: Path, tmp_path: Path, capsys) -> None:
    """`emov2 export --checkpoint VIDEO_ARTIFACT`: (B, 3, T, H, W) input, dynamic batch, onnxruntime parity."""
    pytest.importorskip("onnxruntime")
    onnx_path = tmp_path / "video.onnx"
    assert main(["export", "--checkpoint", str(trained_video_run / "best.safetensors"), "--img-size", "32",
                 "--check", "--output", str(onnx_path)]) == 0
    out = capsys.readouterr().out
    parity = [float(v) for v in re.findall(r"max \|diff\| ([0-9.e+-]+)", out)]
    assert "[1, 3, 4, 32, 32]" in out and "[3, 3, 4, 32, 32]" in out and len(parity) >= 2
    assert max(parity) <= 1e-4
    import onnx

    graph = onnx.load(str(onnx_path)).graph
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [3, 4, 32, 32] and isinstance(dims[0], str)  # a dynamic batch of clips


def test_export_frame_averaged_and_refusals(tmp_path: Path) -> None:
    from emov2.export.api import export_model

    model = emov2.create_video_model("frame_avg_test_emov2", num_classes=3, num_frames=3, img_size=32).eval()
    result = export_model(model, "onnx", tmp_path / "fa.onnx", img_size=32, check=True)
    assert result.parity and result.max_abs <= 1e-4 and result.parity[0].shape == (1, 3, 3, 32, 32)
    with pytest.raises(ValueError, match="video models export to onnx or pt2"):
        export_model(model, "pte", tmp_path / "fa.pte", img_size=32)
