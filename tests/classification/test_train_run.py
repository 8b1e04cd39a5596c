"""End-to-end training on tiny image folders: outputs, exact resume, skipped images, eval and predict."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import yaml
from PIL import Image

from emov2.cli.main import main
from emov2.models.weights import load_state_dict

from .train_helpers import TINY


def _rows(run: Path, kind: str) -> list[dict]:
    return [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if r["kind"] == kind]


def test_run_outputs(trained_run: Path) -> None:
    for name in ("config.yaml", "metrics.jsonl", "last.pt", "best.safetensors", "best.json", "final.safetensors",
                 "final.json", "curves.png", "confusion.png"):
        assert (trained_run / name).is_file(), name
    cfg = yaml.safe_load((trained_run / "config.yaml").read_text())
    assert cfg["img_size"] == 32 and cfg["batch_size"] == 8  # flags
    assert cfg["epochs"] == 1 and cfg["aa"] == "rand-m6-mstd0.5-inc1"  # flag; the small-data recipe (finetune)
    epoch = _rows(trained_run, "epoch")
    assert [(r["epoch"], r["samples"], r["skipped"]) for r in epoch] == [(1, 24, 0)]  # 24 images, each once
    evals = _rows(trained_run, "eval")
    assert {r["weights"] for r in evals} == {"model", "ema"} and all(0 <= r["top1"] <= 100 for r in evals)
    info = json.loads((trained_run / "best.json").read_text())
    assert info["task"] == "cls" and info["format"] == "emov2-artifact-1"
    assert info["classes"] == ["circle", "square", "stripes"] and info["arch"] == "emov2_1m"
    assert info["img_size"] == 32 and info["window_size"] == 2 and "top1" in info["metrics"]
    assert info["command"].startswith("emov2 train --data ") and "--epochs 1" in info["command"]
    state = torch.load(trained_run / "last.pt", map_location="cpu", weights_only=True)
    assert state["epoch"] == 1 and state["step"] == 3 and state["ema"] is not None and len(state["rng"]) == 1
    assert load_state_dict(trained_run / "best.safetensors")["head.weight"].shape == (3, 180)


def test_eval_and_predict(trained_run: Path, tmp_path: Path, capsys) -> None:
    val = trained_run.parent / "ds" / "val"
    assert main(["eval", "--checkpoint", str(trained_run / "best.safetensors"), "--data", str(val), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 12 and 0 <= result["top1"] <= result["top5"] <= 100 and result["loss"] > 0
    # the best epoch's recorded top-1 is what eval measures again with the same weights and transform
    info = json.loads((trained_run / "best.json").read_text())
    assert abs(result["top1"] - info["metrics"]["top1"]) < 1e-3 and abs(result["loss"] - info["metrics"]["loss"]) < 1e-4
    img = next((val / "square").iterdir())
    assert main(["predict", "--checkpoint", str(trained_run / "best.safetensors"), str(img), "--topk", "3",
                 "--json"]) == 0
    pred = json.loads(capsys.readouterr().out)[0]
    assert [t["class"] for t in pred["top"]] and {t["class"] for t in pred["top"]} == {"circle", "square", "stripes"}
    probs = [t["prob"] for t in pred["top"]]
    assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1) < 1e-3


def test_resume_matches_uninterrupted(image_dataset: Path, tmp_path: Path) -> None:
    """Stopped in the middle of epoch 2 (step 4 of 6), then `--resume` alone: bit-identical model and EMA."""
    common = ["--data", str(image_dataset), "--log-interval", "1", *TINY]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(["train", "--output", str(straight), "--epochs", "2", *common]) == 0
    assert main(["train", "--output", str(split), "--epochs", "2", "--stop-after", "4", *common]) == 0
    state = torch.load(split / "last.pt", weights_only=True)
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (4, 1, 1)
    assert main(["train", "--output", str(split), "--resume"]) == 0  # the run's own settings
    a = torch.load(straight / "last.pt", weights_only=True)
    b = torch.load(split / "last.pt", weights_only=True)
    assert a["step"] == b["step"] == 6
    for part in ("model", "ema"):
        for k, v in a[part].items():
            assert torch.equal(v, b[part][k]), f"{part}.{k} differs after resume"
    assert [r["loss"] for r in _rows(straight, "train")] == [r["loss"] for r in _rows(split, "train")]
    assert [r["samples"] for r in _rows(split, "epoch")] == [24, 24]


def test_truncated_images_are_skipped(image_dataset: Path, tmp_path: Path, capsys) -> None:
    for p in sorted((image_dataset / "train" / "circle").iterdir())[:3]:
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])  # truncated PNG
    Image.new("RGB", (8, 8)).save(image_dataset / "train" / "circle" / "ok.png")
    assert main(["train", "--data", str(image_dataset), "--output", str(tmp_path / "o"), "--epochs", "1", *TINY]) == 0
    out = capsys.readouterr()
    assert "skipped 3 unreadable sample(s)" in out.out + out.err
    (epoch,) = _rows(tmp_path / "o", "epoch")
    assert epoch["skipped"] == 3 and epoch["samples"] == 21
