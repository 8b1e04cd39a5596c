"""Knowledge distillation: the KL term and a training run with a timm teacher (random init, no download)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from emov2.classification.distill import build_teacher, kd_loss
from emov2.cli.main import main

from .train_helpers import TINY


def test_kd_loss_properties() -> None:
    torch.manual_seed(0)
    s, t = torch.randn(4, 10), torch.randn(4, 10)
    assert kd_loss(s, s).abs() < 1e-6
    ref = (t.softmax(-1) * (t.log_softmax(-1) - s.log_softmax(-1))).sum(-1).mean()
    assert torch.allclose(kd_loss(s, t), ref, atol=1e-6)
    assert torch.allclose(kd_loss(s, t, tau=2.0), 4 * kd_loss(s / 2, t / 2), atol=1e-6)


def test_teacher_renormalises_and_resizes() -> None:
    teacher = build_teacher("resnet10t", 3, img_size=48, student_mean=(0.5,) * 3, student_std=(0.25,) * 3)
    x = torch.zeros(2, 3, 32, 32)  # student-normalised zeros = pixel value 0.5
    seen = {}
    teacher.model.register_forward_pre_hook(lambda m, a: seen.setdefault("x", a[0]))
    assert teacher(x).shape == (2, 3)
    mean = torch.tensor(teacher.model.pretrained_cfg["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(teacher.model.pretrained_cfg["std"]).view(1, 3, 1, 1)
    assert seen["x"].shape == (2, 3, 48, 48)
    assert torch.allclose(seen["x"], ((0.5 - mean) / std).expand(2, 3, 48, 48), atol=1e-5)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())


def test_unknown_teacher() -> None:
    with pytest.raises(ValueError, match="unknown teacher"):
        build_teacher("no_such_model_xyz", 3, student_mean=(0.5,) * 3, student_std=(0.5,) * 3)


def test_train_with_teacher(image_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "kd"
    assert main(["train", "--data", str(image_dataset), "--output", str(out), "--epochs", "1", "--teacher",
                 "resnet10t", "--kd-weight", "5", *TINY]) == 0
    plain = tmp_path / "plain"
    assert main(["train", "--data", str(image_dataset), "--output", str(plain), "--epochs", "1", *TINY]) == 0
    def first_loss(run):
        rows = map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
        return next(r["loss"] for r in rows if r["kind"] == "train")

    kd_loss_value, ce_loss_value = first_loss(out), first_loss(plain)
    assert kd_loss_value > ce_loss_value  # same seed and batches: the KL term adds to the loss
