"""Recipes (YAML from the paper) resolved into settings, and the `info --task` table."""

import argparse

import pytest

from emov2.cli._train import add_train_flags, resolve_settings
from emov2.detection.config import DetConfig
from emov2.engine.config import load_recipe
from emov2.segmentation.config import SegConfig


def _settings(cls, task, argv, arch):
    p = argparse.ArgumentParser()
    add_train_flags(p, cls)
    return resolve_settings(p.parse_args(argv), cls, task, base=arch, base_under_config=True)


def test_paper_recipes():
    r = _settings(DetConfig, "det", ["--arch", "ssdlite"], "ssdlite")
    assert (r.lr, r.clip_grad, r.size, r.frozen_stages, r.norm_eval) == (2.4e-3, 0.1, 320, -1, True)
    assert (r.sched, r.warmup_iters, r.warmup_lr, r.constant_until, r.batch_size) == (
        "const_cosine", 500, 2.4e-8, 0.5, 192)
    r = _settings(DetConfig, "det", ["--arch", "maskrcnn"], "maskrcnn")
    assert (r.lr, r.epochs, r.frozen_stages, r.min_size, r.max_size) == (2e-4, 12, 1, 800, 1333)
    for arch, iters in (("deeplabv3", 80000), ("pspnet", 80000), ("fpn", 160000), ("segformer", 160000)):
        r = _settings(SegConfig, "seg", [], arch)
        assert (r.lr, r.iters, r.crop, r.arch) == (1.2e-4, iters, 512, arch)
    fpn = _settings(SegConfig, "seg", [], "fpn")
    assert fpn.clip_grad is None and fpn.head_lr_mult == 10.0 and fpn.aux_weight == 0.0


def test_config_file_and_flags_override_the_arch_recipe(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("lr: 0.01\nsize: 512\n")
    r = _settings(DetConfig, "det", ["--config", str(p), "--lr", "0.02"], "ssdlite")
    assert (r.size, r.lr, r.clip_grad) == (512, 0.02, 0.1)  # file over the recipe, flag over the file
    p.write_text("lrr: 0.5\n")
    with pytest.raises(ValueError, match="unknown setting.*lrr"):
        _settings(DetConfig, "det", ["--config", str(p)], "retinanet")
    p.write_text("a: [1\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        _settings(DetConfig, "det", ["--config", str(p)], "retinanet")
    with pytest.raises(FileNotFoundError, match="det recipes: maskrcnn, retinanet, ssdlite"):
        load_recipe("yolo", "det")


def test_info_task_det(capsys):
    from emov2.cli.main import main

    assert main(["info", "--task", "det", "--models", "emov2_1m", "--arch", "ssdlite"]) == 0
    out = capsys.readouterr().out
    assert "| ssdlite | emov2_1m | 2.41 | 2.4 |" in out
    assert main(["info", "--task", "seg", "--models", "nothing*"]) == 2
