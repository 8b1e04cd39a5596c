"""`emov2 video train | eval | predict` end to end on real MP4 files: outputs, exact resume, unreadable videos,
the official recipe's schedule and weight-decay groups."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
import yaml
from PIL import Image

from emov2.cli.main import main
from emov2.engine.config import build_config, load_recipe
from emov2.engine.optim import create_optimizer, create_scheduler
from emov2.models.video import create_video_model
from emov2.video.config import VideoConfig
from emov2.video.task import video_param_groups

from .conftest import TINY


def _rows(run: Path, kind: str) -> list[dict]:
    return [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if r["kind"] == kind]


def test_run_outputs(trained_video_run: Path) -> None:
    run = trained_video_run
    for name in ("config.yaml", "metrics.jsonl", "last.pt", "best.safetensors", "best.json", "final.safetensors",
                 "curves.png", "confusion.png"):
        assert (run / name).is_file(), name
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["num_frames"] == 4 and cfg["hflip"] == 0 and cfg["clip_grad"] == 20.0  # flags; the log's recipe
    evals = _rows(run, "eval")
    assert [r["step"] for r in evals] == [0, 2, 4]  # --eval-first: the untrained model at step 0
    assert all(r["videos"] == 7 and r["clips"] == 7 and r["top1"] == r["clip_top1"] for r in evals)  # 1 view each
    assert [(r["samples"], r["skipped"]) for r in _rows(run, "epoch")] == [(12, 0)]  # 14 videos, 3 batches of 4
    info = json.loads((run / "best.json").read_text())
    assert info["task"] == "video" and info["arch"] == "test_v_emov2" and info["num_frames"] == 4
    assert info["classes"] == ["down", "left", "right", "rotate-ccw", "rotate-cw", "still", "up"]
    assert info["img_size"] == 32 and info["mean"] == [114.75] * 3 and "top1" in info["metrics"]


def test_eval_and_predict(trained_video_run: Path, motion_set: Path, tmp_path: Path, capsys) -> None:
    best = trained_video_run / "best.safetensors"
    assert main(["video", "eval", "--checkpoint", str(best), "--data", str(motion_set / "val"), "--workers", "0",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    info = json.loads((trained_video_run / "best.json").read_text())
    assert result["videos"] == 7 and abs(result["top1"] - info["metrics"]["top1"]) < 1e-3  # what training measured
    assert abs(result["loss"] - info["metrics"]["loss"]) < 1e-4
    # the list-file layout, three crops x two clips: 6 views per video, video level averages their softmax
    assert main(["video", "eval", "--checkpoint", str(best), "--data", str(motion_set / "val.txt"), "--test-crops",
                 "3", "--test-clips", "2", "--workers", "0", "--json"]) == 0
    multi = json.loads(capsys.readouterr().out)
    assert multi["videos"] == 7 and multi["clips"] == 42 and 0 <= multi["clip_top1"] <= multi["clip_top5"] <= 100
    videos = [str(motion_set / "val" / c / "00000.mp4") for c in ("left", "up")]
    out = tmp_path / "pred"
    assert main(["video", "predict", "--checkpoint", str(best), *videos, "--output", str(out), "--topk", "3",
                 "--json"]) == 0
    preds = json.loads(capsys.readouterr().out)
    assert [p["true"] for p in preds] == ["left", "up"] and all(len(p["top"]) == 3 for p in preds)
    probs = [t["prob"] for t in preds[0]["top"]]
    assert probs == sorted(probs, reverse=True) and preds[0]["frames"] == [0, 2, 4, 5]  # UniformSample of 8
    assert json.loads((out / "predictions.json").read_text()) == preds
    with Image.open(out / "contact_sheet.png") as sheet:  # 2 rows of 4 frames (32 px, enlarged 3x) + captions
        assert sheet.size == (4 * (96 + 4) + 4, 2 * (96 + 4 + 14) + 4)


def test_resume_matches_uninterrupted(motion_set: Path, tmp_path: Path) -> None:
    """Stopped at step 2 of 4 (in the middle of epoch 1), then `--resume` alone: bit-identical model and EMA."""
    common = ["video", "train", "--data", str(motion_set), "--iters", "4", "--eval-interval", "0", "--model-ema",
              "--ema-decay", "0.5", *TINY]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main([*common, "--output", str(straight)]) == 0
    assert main([*common, "--output", str(split), "--stop-after", "2"]) == 0
    state = torch.load(split / "last.pt", weights_only=True)
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (2, 0, 2)
    assert main(["video", "train", "--output", str(split), "--resume"]) == 0
    a = torch.load(straight / "last.pt", weights_only=True)
    b = torch.load(split / "last.pt", weights_only=True)
    assert a["step"] == b["step"] == 4
    for part in ("model", "ema"):
        for k, v in a[part].items():
            assert torch.equal(v, b[part][k]), f"{part}.{k} differs after resume"
    assert [r["loss"] for r in _rows(straight, "train")] == [r["loss"] for r in _rows(split, "train")]


def test_unreadable_videos_are_counted_and_named_once(motion_set: Path, tmp_path: Path, caplog) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(motion_set, data)
    (data / "train" / "left" / "00001.mp4").write_bytes(b"not a video")
    good = (data / "val" / "up" / "00000.mp4").read_bytes()
    (data / "val" / "up" / "00000.mp4").write_bytes(good[: len(good) // 3])  # truncated
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="emov2.data.video.collate"):
        assert main(["video", "train", "--data", str(data), "--output", str(out), "--iters", "6", "--eval-first",
                     "--eval-interval", "3", *TINY]) == 0
    epochs = _rows(out, "epoch")
    assert [r["samples"] + r["skipped"] for r in epochs] == [12, 12] and sum(r["skipped"] for r in epochs) >= 1
    assert all(r["videos"] == 6 and r["skipped"] == 1 for r in _rows(out, "eval"))
    named = [r.getMessage() for r in caplog.records if "skipping unreadable video" in r.getMessage()]
    assert sorted(Path(m.split()[3].rstrip(":")).name for m in named) == ["00000.mp4", "00001.mp4"]  # once each


def test_recipe_schedule_is_the_logs() -> None:
    """k400.yaml: warm-up from 1e-5 over 30 epochs, cosine with T_max 190 from epoch 30, so the last lr is the
    log's 1.244e-5 (not 1e-5); AdamW, wd 0.05 except norms and biases, layer scales decayed."""
    cfg = build_config(VideoConfig, load_recipe("k400", "video"))
    assert (cfg.model, cfg.batch_size, cfg.epochs, cfg.clip_grad, cfg.lr) == ("v_emov2_5m", 256, 200, 20.0, 1e-4)
    model = create_video_model("test_v_emov2", num_classes=7)
    opt = create_optimizer(cfg, model, video_param_groups(model, cfg.weight_decay, cfg.decay_layer_scale))
    sched, total, _ = create_scheduler(cfg, opt, steps_per_epoch=940)
    assert total == 200 * 940

    def lr_at(epoch: float) -> float:
        sched.step_update(num_updates=int(epoch * 940))
        return opt.param_groups[0]["lr"]

    assert abs(lr_at(0) - 1e-5) < 1e-12 and abs(lr_at(15) - 5.5e-5) < 1e-9 and abs(lr_at(30) - 1e-4) < 1e-9
    assert abs(lr_at(200) - 1.2438e-5) < 1e-9


def test_weight_decay_groups() -> None:
    model = create_video_model("test_v_emov2", num_classes=7)
    decay, no_decay = video_param_groups(model, 0.05)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    skipped = {names[id(p)] for p in no_decay["params"]}
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert decayed | skipped == set(names.values()) and not decayed & skipped
    assert "stages.2.blocks.1.layer_scale.gamma" in decayed and "head.weight" in decayed
    assert {"head.bias", "norm.weight", "stages.0.blocks.0.norm.weight", "stages.2.blocks.1.norm.bias",
            "stem.conv1.bn.weight", "stages.2.blocks.1.op.qk.bias", "stages.1.blocks.0.dw.bn.bias"} <= skipped
    assert all(not n.endswith("bias") for n in decayed)
    off = video_param_groups(model, 0.05, decay_layer_scale=False)
    assert "stages.2.blocks.1.layer_scale.gamma" in {names[id(p)] for p in off[1]["params"]}
