"""Recipes: the shipped YAML files match the paper's §3.1 settings; flags override files override defaults;
without --config the recipe fits the data."""

from __future__ import annotations

from pathlib import Path

import pytest

from emov2.classification.config import ClsConfig
from emov2.classification.recipes import choose_recipe
from emov2.engine.config import build_config, load_recipe

from .train_helpers import make_folder


def test_imagenet_recipe_is_the_paper_recipe() -> None:
    cfg = build_config(ClsConfig, load_recipe("imagenet_224", "cls"))
    assert (cfg.epochs, cfg.batch_size, cfg.img_size) == (300, 1024, 224)
    assert cfg.peak_lr() == pytest.approx(3e-3)  # 1.5e-3 x 1024 / 512
    assert cfg.opt_betas == (0.9, 0.999) and cfg.weight_decay == 0.05 and cfg.clip_grad == 5.0
    assert (cfg.warmup, cfg.warmup_lr, cfg.min_lr) == (20, 5e-7, 5e-7)
    assert cfg.aa == "rand-m9-mstd0.5-inc1" and cfg.train_interpolation == "random" and cfg.smoothing == 0.1
    assert cfg.model_ema and cfg.ema_decay == 0.9998 and cfg.crop_pct == 0.875 and cfg.interpolation == "bicubic"
    assert cfg.drop_path is None  # the variant's own rate
    # the defaults are that recipe: an ImageNet-sized folder trains with the paper's settings
    assert {k: v for k, v in build_config(ClsConfig).to_dict().items() if k != "output"} == \
        {k: v for k, v in cfg.to_dict().items() if k != "output"}
    kd = build_config(ClsConfig, load_recipe("imagenet_224_kd", "cls"))
    assert kd.teacher and (kd.kd_weight, kd.kd_tau) == (5.0, 1.0)


def test_override_order(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("epochs: 7\nbatch_size: 64\n")
    cfg = build_config(ClsConfig, load_recipe(recipe, "cls"), {"batch_size": 32})
    assert (cfg.epochs, cfg.batch_size, cfg.lr) == (7, 32, None)  # file beats default, flag beats file
    assert cfg.weight_decay == ClsConfig().weight_decay


def test_bad_recipes(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cls recipes: fashion_mnist, finetune, imagenet_224"):
        load_recipe("nope", "cls")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="mapping"):
        load_recipe(tmp_path / "list.yaml", "cls")
    with pytest.raises(ValueError, match="epochs = 'many' is not a valid float"):
        build_config(ClsConfig, {"epochs": "many"}, sources=["r.yaml"])


def test_recipe_fits_the_data(tmp_path: Path) -> None:
    assert choose_recipe("fashion-mnist", None)[0] == "fashion_mnist"
    make_folder(tmp_path / "small" / "train", per_class=4)
    name, why = choose_recipe(str(tmp_path / "small"), None)
    assert name == "finetune" and "12 images" in why
    assert choose_recipe(str(tmp_path / "small"), "weights.pth") == ("finetune", "fine-tuning from weights.pth")
    big = tmp_path / "big" / "train" / "a"
    big.mkdir(parents=True)
    for i in range(20_000):
        (big / f"{i}.jpg").touch()  # counted, not opened
    assert choose_recipe(str(tmp_path / "big"), None)[0] == "imagenet_224"
