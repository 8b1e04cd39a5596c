"""Pieces shared by ``emov2 det`` and ``emov2 seg``: recipe flags, seeding, data loaders and DDP set-up."""

from __future__ import annotations

import argparse
import random

import numpy as np
import torch

from ..recipes import load_recipe
from ..utils.distributed import init_distributed, is_main, world_size

# recipe key -> (flag type, help); a flag given on the command line overrides the YAML recipe.
RECIPE_FLAGS = {
    "lr": (float, "base learning rate"),
    "weight_decay": (float, "AdamW weight decay"),
    "clip_grad": (float, "gradient clipping max norm (0 = off)"),
    "batch_size": (int, "total batch size (split over torchrun processes)"),
    "iters": (int, "training iterations (overrides epochs)"),
    "epochs": (int, "training epochs (detection)"),
    "warmup": (int, "linear warmup iterations"),
    "frozen_stages": (int, "backbone stages to freeze (-1: none, 0: stem, k: stem + stages 1..k)"),
}


def add_train_flags(p: argparse.ArgumentParser, archs: list[str], add_data_flags) -> None:
    """The flags ``det train`` and ``seg train`` share: model, data (``add_data_flags(p)``), output, evaluation
    cadence, loader, seed and the recipe overrides."""
    p.add_argument("--arch", required=True, choices=archs)
    p.add_argument("--backbone", default="emov2_5m")
    p.add_argument("--backbone-checkpoint", help="classification weights (ours .safetensors or official .pth)")
    add_data_flags(p)
    p.add_argument("--out", required=True, help="output folder (last.pt, metrics.jsonl, curves.png)")
    p.add_argument("--eval-every", type=int, default=0, help="evaluate every N iterations (and at the end)")
    p.add_argument("--eval-limit", type=int, help="evaluate on the first N validation images only")
    p.add_argument("--no-eval-before", action="store_true", help="skip the evaluation of the untrained model")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    add_recipe_flags(p)


def add_recipe_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML file overriding recipe keys (flat, or under an `ARCH:` section)")
    for key, (typ, help_) in RECIPE_FLAGS.items():
        p.add_argument("--" + key.replace("_", "-"), dest=key, type=typ, default=None, help=help_)
    p.add_argument("--norm-eval", dest="norm_eval", action=argparse.BooleanOptionalAction, default=None,
                   help="keep backbone BatchNorms in eval mode while training")


def resolve_recipe(task: str, args: argparse.Namespace) -> dict:
    recipe = load_recipe(task, args.arch, args.config)
    for key in [*RECIPE_FLAGS, "norm_eval"]:
        if getattr(args, key, None) is not None:
            recipe[key] = getattr(args, key)
    if recipe.get("clip_grad") == 0:
        recipe["clip_grad"] = None
    return recipe


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_loader(dataset, batch_size: int, workers: int, collate_fn=None, train: bool = True, seed: int = 0):
    """A DataLoader; under torchrun a ``DistributedSampler`` and ``batch_size // world_size`` per process."""
    ddp = init_distributed()
    per_proc = max(1, batch_size // world_size())
    sampler = torch.utils.data.DistributedSampler(dataset, shuffle=train, seed=seed) if ddp else None
    g = torch.Generator()
    g.manual_seed(seed)
    return torch.utils.data.DataLoader(
        dataset, batch_size=per_proc, shuffle=train and sampler is None, sampler=sampler, num_workers=workers,
        collate_fn=collate_fn, drop_last=train and len(dataset) >= per_proc, generator=g,
        persistent_workers=workers > 0,
    )


def wrap_ddp(model: torch.nn.Module) -> torch.nn.Module:
    if world_size() > 1:
        return torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    return model


def main_process() -> bool:
    return is_main()


def evaluate_before(out, model, eval_fn, skip: bool) -> None:
    """Rank 0 evaluates the untrained model and writes ``eval_before.json`` (unless ``skip``)."""
    import json

    if skip or not main_process():
        return
    before = eval_fn(model)
    print("before training: " + json.dumps(before))
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval_before.json").write_text(json.dumps(before, indent=1))


def finish_run(out, metrics: dict, metric: str) -> None:
    """Rank 0 writes the after-training evaluation and the curves, then the process group is left."""
    import json

    from ..utils.distributed import cleanup_distributed
    from ..utils.plot import plot_curves

    if main_process():
        (out / "eval_after.json").write_text(json.dumps(metrics, indent=1))
        plot_curves(out / "metrics.jsonl", out / "curves.png", "loss", metric)
        print("after training: " + json.dumps(metrics))
    cleanup_distributed()
