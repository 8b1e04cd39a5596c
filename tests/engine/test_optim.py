"""Schedules: const_cosine by hand, timm's cosine in iteration and epoch units, warm-up clamping."""

from __future__ import annotations

import math

import pytest
import torch

from emov2.engine.config import EngineConfig
from emov2.engine.optim import create_optimizer, create_scheduler


def _lrs(cfg: EngineConfig, steps_per_epoch: int = 1) -> tuple[list[float], int, str]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    sched, total, note = create_scheduler(cfg, opt, steps_per_epoch)
    out = []
    for t in range(total + 1):
        sched.step_update(num_updates=t)
        out.append(opt.param_groups[0]["lr"])
    return out, total, note


def test_const_cosine_by_hand() -> None:
    cfg = EngineConfig(lr=1.0, iters=100, sched="const_cosine", warmup_iters=10, warmup_lr=0.0, constant_until=0.5)
    lr, total, note = _lrs(cfg)
    assert total == 100 and note == ""
    assert lr[0] == 0.0 and lr[5] == pytest.approx(0.5) and lr[10] == 1.0 and lr[49] == 1.0
    assert lr[75] == pytest.approx(0.5) and lr[100] == pytest.approx(0.0)


def test_timm_cosine_per_iteration_and_truncated_length() -> None:
    # the video recipe: warm-up prefix of 30 epochs from 0.1x, cosine with T_max 190 epochs, run stops at 200
    cfg = EngineConfig(lr=1e-4, epochs=200, sched="cosine", warmup=30, warmup_lr=1e-5, min_lr=1e-5,
                       warmup_prefix=True, sched_length=190)
    lr, total, note = _lrs(cfg, steps_per_epoch=2)
    assert total == 400 and note == ""
    assert lr[0] == pytest.approx(1e-5) and lr[60] == pytest.approx(1e-4)
    expected_final = 1e-5 + 0.5 * 9e-5 * (1 + math.cos(math.pi * 170 / 190))
    assert lr[400] == pytest.approx(expected_final) and lr[400] == pytest.approx(1.244e-5, rel=1e-3)


def test_warmup_is_clamped_with_a_note() -> None:
    cfg = EngineConfig(lr=1.0, epochs=3, sched="cosine", warmup=20, warmup_lr=0.0)
    lr, total, note = _lrs(cfg, steps_per_epoch=10)
    assert total == 30 and "clamped from 20 epochs to 6 of the run's 30 steps" in note
    assert lr[3] == pytest.approx(0.5)  # linear warm-up over the clamped 6 steps
    assert lr[6] == pytest.approx(0.5 * (1 + math.cos(math.pi * 6 / 30)))  # timm counts the warm-up in the cosine


def test_no_length_is_an_error() -> None:
    with pytest.raises(ValueError, match="no length"):
        _lrs(EngineConfig(lr=1.0))


def test_optimizer_groups_follow_timm() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(4, 2))
    opt = create_optimizer(EngineConfig(lr=1e-3, weight_decay=0.05), model)
    decay = {g["weight_decay"]: sum(p.numel() for p in g["params"]) for g in opt.param_groups}
    assert decay == {0.05: 3 * 4 * 9 + 4 * 2, 0.0: 4 + 4 + 4 + 2}  # biases and norm weights undecayed
    assert isinstance(opt, torch.optim.AdamW)
