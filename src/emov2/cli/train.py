"""``emov2 train``: train a classifier on an ImageNet-layout folder or the embedded Fashion-MNIST set.

Settings: defaults (the paper's ImageNet recipe) <- ``--config RECIPE.yaml`` <- flags. Run it unchanged under
``torchrun --nproc_per_node=N`` for DDP.
"""

from __future__ import annotations

import argparse
import json
import os


def _pair(text: str) -> tuple[float, float]:
    a, b = (float(v) for v in text.split(","))
    return a, b


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a classifier (paper recipe; DDP under torchrun; --resume)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="EMOv2 variant (emov2_1m ... emov2_50m) or any timm model name")
    p.add_argument("--data", help="folder with train/<class>/* and val/<class>/*, or 'fashion-mnist'")
    p.add_argument("--output", help="run folder (last.pt, best.safetensors, metrics.jsonl, args.yaml, figures)")
    p.add_argument("--config", help="YAML recipe (path, or a name in recipes/: imagenet_224, fashion_mnist, ...)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, help="global batch size (split over DDP processes)")
    p.add_argument("--img-size", type=int)
    p.add_argument("--lr", type=float, help="peak lr (default: lr_base * batch / 512)")
    p.add_argument("--warmup-epochs", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--drop-path", type=float, help="stochastic depth rate (default: the variant's)")
    p.add_argument("--window-size", type=int, help="attention window of EMOv2 (default 7)")
    p.add_argument("--smoothing", type=float, help="label smoothing")
    p.add_argument("--no-ema", dest="model_ema", action="store_const", const=False, help="no EMA weights")
    p.add_argument("--ema-decay", type=float)
    p.add_argument("--clip-grad", type=float)
    p.add_argument("--aa", help="timm auto-augment string ('' for none)")
    p.add_argument("--amp", choices=["auto", "bf16", "fp16", "none"])
    p.add_argument("--channels-last", action="store_const", const=True)
    p.add_argument("--teacher", help="KD teacher: timm model name or a .safetensors from emov2 train")
    p.add_argument("--teacher-checkpoint", help="weights for a timm-name teacher")
    p.add_argument("--kd-weight", type=float)
    p.add_argument("--kd-tau", type=float)
    p.add_argument("--initial-checkpoint", help="fine-tune from these weights (a new head if the classes differ)")
    p.add_argument("--max-train-samples", type=int, help="train on a fixed random subset of this size")
    p.add_argument("--eval-interval", type=int)
    p.add_argument("--workers", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's choice)")
    p.add_argument("--resume", action="store_const", const=True, help="continue from OUTPUT/last.pt")
    p.add_argument("--stop-after", type=int, metavar="N",
                   help="end after epoch N (the schedule still spans --epochs); continue later with --resume")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


_OVERRIDES = (
    "model", "data", "output", "epochs", "batch_size", "img_size", "lr", "warmup_epochs", "weight_decay", "drop_path",
    "window_size", "smoothing", "model_ema", "ema_decay", "clip_grad", "aa", "amp", "channels_last", "teacher",
    "teacher_checkpoint", "kd_weight", "kd_tau", "initial_checkpoint", "max_train_samples", "eval_interval",
    "workers", "seed", "threads", "resume", "stop_after", "progress",
)


def run(args: argparse.Namespace) -> int:
    from ..train import resolve_config, run_training

    overrides = {k: getattr(args, k) for k in _OVERRIDES}
    if overrides["aa"] == "":
        overrides["aa"] = "none"
    cfg = resolve_config(args.config, **overrides)
    if cfg.aa == "none":
        cfg.aa = None
    summary = run_training(cfg)
    if os.environ.get("RANK", "0") != "0":
        return 0
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "classes"}, indent=1))
    else:
        b = summary["best"]
        print(f"best top-1 {b['top1']:.2f}% (top-5 {b.get('top5', 0):.2f}%) at epoch {b['epoch']} ({b['weights']} "
              f"weights); {summary['img_per_s']:.0f} img/s; {summary['wall_s']:.0f} s; {summary['output']}")
    return 0
