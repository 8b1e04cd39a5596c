"""``emov2 train``: train a classifier on an ImageNet-layout folder or the embedded Fashion-MNIST set.

Settings: the paper's ImageNet recipe (``--config imagenet_224``) <- ``--config RECIPE`` <- flags. Without
``--config`` the recipe fits the data: ``fashion_mnist`` for the embedded set, ``finetune`` for a small folder
(or with ``--initial-checkpoint``), the paper's ImageNet recipe otherwise; the run prints which and why. Run it
unchanged under ``torchrun`` for DDP (one or several nodes).
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from ..classification.config import ClsConfig
    from ._train import add_train_flags

    p = sub.add_parser("train", help="train a classifier (paper recipe, KD, EMA, DDP under torchrun, --resume)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_train_flags(p, ClsConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..classification.config import ClsConfig
    from ..classification.recipes import choose_recipe
    from ..classification.task import ClassificationTask
    from ..engine import fit
    from ._train import print_summary, resolve_settings

    base = None if args.config or getattr(args, "resume", False) else choose_recipe(
        getattr(args, "data", ""), getattr(args, "initial_checkpoint", None))
    cfg = resolve_settings(args, ClsConfig, "cls", base=base[0] if base else None)
    task = ClassificationTask(cfg)
    if base is not None:
        task.notes.append(f"recipe: {base[0]} ({base[1]}); --config NAME picks another")
    summary = fit(task, cfg, args.command_line)
    summary.pop("classes", None)

    def best_line(b: dict, summary: dict) -> str:
        test = summary.get("test")
        return (f"best val top-1 {b['value']:.2f}% ({task.data.splits.get('val', 'val')}) at epoch {b['epoch']:g} "
                f"({b['weights']} weights)"
                + (f"; test top-1 {test['top1']:.2f}% ({test['split']}, measured once on those weights)" if test
                   else "")
                + f"; {summary['samples_per_s']:.0f} img/s; {summary['wall_s']:.0f} s; {summary['output']}")

    print_summary(summary, task, args.json, best_line)
    return 0

