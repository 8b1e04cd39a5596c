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


def test_run_outputs(trained_run: Path) -> None:
    for name in ("args.yaml", "metrics.jsonl", "last.pt", "best.safetensors", "best.json", "curves.png",
                 "confusion.png"):
        assert (trained_run / name).is_file(), name
    args = yaml.safe_load((trained_run / "args.yaml").read_text())
    assert args["img_size"] == 32 and args["batch_size"] == 8 and args["smoothing"] == 0.1  # flag and default
    record = json.loads((trained_run / "metrics.jsonl").read_text().splitlines()[0])
    assert record["epoch"] == 1 and record["train_images"] == 24 and 0 <= record["val_top1"] <= 100
    info = json.loads((trained_run / "best.json").read_text())
    assert info["classes"] == ["circle", "square", "stripes"] and info["variant"] == "emov2_1m"
    assert info["img_size"] == 32 and info["window_size"] == 2 and "top1" in info["metrics"]
    state = torch.load(trained_run / "last.pt", map_location="cpu", weights_only=True)
    assert state["epoch"] == 0 and state["ema"] is not None and "optimizer" in state and "rng" in state
    assert load_state_dict(trained_run / "best.safetensors")["head.weight"].shape == (3, 180)


def test_eval_and_predict(trained_run: Path, tmp_path: Path, capsys) -> None:
    val = trained_run.parent / "ds" / "val"
    assert main(["eval", "--checkpoint", str(trained_run / "best.safetensors"), "--data", str(val), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 12 and 0 <= result["top1"] <= result["top5"] <= 100 and result["loss"] > 0
    # the best epoch's recorded top-1 is what eval measures again with the same weights and transform
    info = json.loads((trained_run / "best.json").read_text())
    assert abs(result["top1"] - info["metrics"]["top1"]) < 1e-3 and abs(result["loss"] - info["metrics"]["loss"]) < 1e-3
    img = next((val / "square").iterdir())
    assert main(["predict", "--checkpoint", str(trained_run / "best.safetensors"), str(img), "--topk", "3",
                 "--json"]) == 0
    pred = json.loads(capsys.readouterr().out)[0]
    assert [t["class"] for t in pred["top"]] and {t["class"] for t in pred["top"]} == {"circle", "square", "stripes"}
    probs = [t["prob"] for t in pred["top"]]
    assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1) < 1e-3


def test_resume_matches_uninterrupted(image_dataset: Path, tmp_path: Path) -> None:
    common = ["--data", str(image_dataset), *TINY]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(["train", "--output", str(straight), "--epochs", "2", *common]) == 0
    # stop after epoch 1 the way a kill would leave it: only last.pt of epoch 1 exists
    assert main(["train", "--output", str(split), "--epochs", "2", "--stop-after", "1", *common]) == 0
    assert torch.load(split / "last.pt", weights_only=True)["epoch"] == 0
    assert main(["train", "--output", str(split), "--epochs", "2", "--resume", *common]) == 0
    a = torch.load(straight / "last.pt", weights_only=True)
    b = torch.load(split / "last.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == 1
    for part in ("model", "ema"):
        for k, v in a[part].items():
            assert torch.equal(v, b[part][k]), f"{part}.{k} differs after resume"
    ma = [json.loads(x) for x in (straight / "metrics.jsonl").read_text().splitlines()]
    mb = [json.loads(x) for x in (split / "metrics.jsonl").read_text().splitlines()]
    assert [r["train_loss"] for r in ma] == [r["train_loss"] for r in mb] and len(ma) == 2


def test_truncated_images_are_skipped(image_dataset: Path, tmp_path: Path, capsys) -> None:
    for p in sorted((image_dataset / "train" / "circle").iterdir())[:3]:
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])  # truncated PNG
    Image.new("RGB", (8, 8)).save(image_dataset / "train" / "circle" / "ok.png")
    assert main(["train", "--data", str(image_dataset), "--output", str(tmp_path / "o"), "--epochs", "1", *TINY]) == 0
    out = capsys.readouterr()
    assert "skipped 3 unreadable image(s)" in out.out + out.err
    record = json.loads((tmp_path / "o" / "metrics.jsonl").read_text())
    assert record["skipped"] == 3 and record["train_images"] == 21
