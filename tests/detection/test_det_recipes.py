"""Recipes (YAML from the paper), optimiser groups, schedule and the `info --task` table."""

import pytest
import torch
from torch import nn

from emov2.recipes import load_recipe
from emov2.utils.optim import build_adamw, warmup_constant_cosine


def test_paper_recipes():
    r = load_recipe("det", "ssdlite")
    assert (r["lr"], r["clip_grad"], r["size"], r["frozen_stages"], r["norm_eval"]) == (2.4e-3, 0.1, 320, -1, True)
    r = load_recipe("det", "maskrcnn")
    assert (r["lr"], r["epochs"], r["frozen_stages"], r["min_size"], r["max_size"]) == (2e-4, 12, 1, 800, 1333)
    for arch, iters in (("deeplabv3", 80000), ("pspnet", 80000), ("fpn", 160000), ("segformer", 160000)):
        r = load_recipe("seg", arch)
        assert (r["lr"], r["iters"], r["crop"]) == (1.2e-4, iters, 512)
    assert load_recipe("seg", "fpn")["clip_grad"] is None and load_recipe("seg", "fpn")["head_lr_mult"] == 10.0


def test_recipe_override_file(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("ssdlite:\n  lr: 0.01\n  size: 512\n")
    assert load_recipe("det", "ssdlite", p)["size"] == 512
    p.write_text("lr: 0.5\n")
    assert load_recipe("det", "retinanet", p)["lr"] == 0.5
    p.write_text("lrr: 0.5\n")
    with pytest.raises(ValueError, match="unknown recipe keys"):
        load_recipe("det", "retinanet", p)
    p.write_text("a: [1\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_recipe("det", "retinanet", p)
    with pytest.raises(ValueError, match="no det recipe"):
        load_recipe("det", "yolo")


def test_schedule_values():
    f = warmup_constant_cosine(total=100, warmup=10, warmup_factor=0.0, constant_until=0.5)
    assert f(0) == 0.0 and f(5) == pytest.approx(0.5) and f(10) == 1.0 and f(49) == 1.0
    assert f(75) == pytest.approx(0.5) and f(100) == pytest.approx(0.0)


def test_adamw_groups():
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))
    opt = build_adamw(m, 1e-3, 0.05, head_lr_mult=10.0, head_prefixes=("2.",))
    by = {(g["weight_decay"], g["lr"]): sum(p.numel() for p in g["params"]) for g in opt.param_groups}
    assert by == {(0.05, 1e-3): 3 * 4 * 9, (0.0, 1e-3): 4 + 4 + 4, (0.05, 1e-2): 8, (0.0, 1e-2): 2}
    assert isinstance(opt, torch.optim.AdamW)


def test_info_task_det(capsys):
    from emov2.cli.main import main

    assert main(["info", "--task", "det", "--models", "emov2_1m", "--arch", "ssdlite"]) == 0
    out = capsys.readouterr().out
    assert "| ssdlite | emov2_1m | 2.41 | 2.4 |" in out
    assert main(["info", "--task", "seg", "--models", "nothing*"]) == 2
