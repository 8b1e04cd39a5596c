"""``emov2 convert OFFICIAL.pth OUT.safetensors``: official checkpoint -> this package's safetensors."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert an official EMOv2 checkpoint to safetensors")
    p.add_argument("src", help="official .pth (dict with net/net_E, or a bare state dict)")
    p.add_argument("dst", help="output .safetensors")
    p.add_argument("--model", help="variant (default: inferred from the weights' shapes)")
    p.add_argument("--ema", action="store_true", help="take the EMA weights (net_E)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models import create_model, guess_variant, load_state_dict
    from ..models.weights import save_safetensors
    from .main import UserError

    if not args.dst.endswith(".safetensors"):
        raise UserError(f"output must end with .safetensors, got {args.dst}")
    sd = load_state_dict(args.src, ema=args.ema)
    name = args.model or guess_variant(sd)
    if name is None:
        raise UserError(f"{args.src}: the weights match no EMOv2 variant; pass --model to see which keys differ")
    model = create_model(name, checkpoint=args.src, ema=args.ema)  # strict check of every key and shape
    save_safetensors(model.state_dict(), args.dst,
                     metadata=dict(format="emov2", variant=name, num_classes=model.num_classes))
    print(f"wrote {args.dst}: {name}, {model.num_classes} classes, {len(sd)} tensors")
    return 0
