"""A plug-in model (DeiT-Tiny with i2RMBs) trains through `emov2 train` at 32 px from a recipe's model_kwargs, and
its artifact rebuilds it with the same patch size and window (a window lost on reload would change the outputs
without any error: the weights do not depend on it)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from classification.train_helpers import make_colour_folder  # tests/ is on sys.path
from emov2.artifacts import load_artifact
from emov2.cli.main import main
from emov2.layers.attention import WindowAttention


def test_deit_i2rmb_from_a_recipe_round_trips(tmp_path: Path) -> None:
    data = make_colour_folder(tmp_path / "data", per_class=4)
    recipe = tmp_path / "vit32.yaml"
    recipe.write_text("model_kwargs:\n  img_size: 32\n  patch_size: 8\n  depth: 2\n")
    out = tmp_path / "run"
    assert main(["train", "--model", "deit_tiny_i2rmb", "--window-size", "2", "--config", str(recipe), "--data",
                 str(data), "--output", str(out), "--img-size", "32", "--iters", "2", "--batch-size", "4",
                 "--workers", "0", "--no-progress", "--threads", "1", "--no-model-ema"]) == 0
    info = json.loads((out / "best.json").read_text())
    assert info["model_kwargs"] == {"img_size": 32, "patch_size": 8, "depth": 2, "num_classes": 3, "window_size": 2}
    model, _ = load_artifact(out / "best.safetensors")
    windows = {tuple(m.window) for m in model.modules() if isinstance(m, WindowAttention)}
    assert windows == {(2, 2)} and len(model.blocks) == 2 and model.patch_embed.patch_size == (8, 8)
    x = torch.randn(2, 3, 32, 32)
    assert model(x).shape == (2, 3)
