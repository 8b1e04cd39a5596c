"""Recipes: the bundled YAML files match the paper's §3.1 settings; flags override files override defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from emov2.train.config import TrainConfig, load_recipe, resolve_config


def test_imagenet_recipe_is_the_paper_recipe() -> None:
    cfg = resolve_config("imagenet_224")
    assert (cfg.epochs, cfg.batch_size, cfg.img_size) == (300, 1024, 224)
    assert cfg.peak_lr() == pytest.approx(3e-3)  # 1.5e-3 x 1024 / 512
    assert cfg.opt_betas == (0.9, 0.999) and cfg.weight_decay == 0.05 and cfg.clip_grad == 5.0
    assert (cfg.warmup_epochs, cfg.warmup_lr, cfg.min_lr) == (20, 5e-7, 5e-7)
    assert cfg.aa == "rand-m9-mstd0.5-inc1" and cfg.train_interpolation == "random" and cfg.smoothing == 0.1
    assert cfg.model_ema and cfg.ema_decay == 0.9998 and cfg.crop_pct == 0.875 and cfg.interpolation == "bicubic"
    assert cfg.drop_path is None  # the variant's own rate
    kd = resolve_config("imagenet_224_kd")
    assert kd.teacher and (kd.kd_weight, kd.kd_tau) == (5.0, 1.0)


def test_override_order(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("epochs: 7\nbatch_size: 64\n")
    cfg = resolve_config(recipe, batch_size=32, lr=None)
    assert (cfg.epochs, cfg.batch_size, cfg.lr) == (7, 32, None)  # file beats default, flag beats file
    assert cfg.weight_decay == TrainConfig().weight_decay
    cfg.save(tmp_path / "args.yaml")
    assert resolve_config(tmp_path / "args.yaml").to_dict() == cfg.to_dict()  # args.yaml reloads as a recipe


def test_bad_recipes(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_recipe(tmp_path / "none.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="mapping"):
        load_recipe(tmp_path / "list.yaml")
