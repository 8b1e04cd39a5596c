"""``emov2 info``: the variant table (params, MACs, paper top-1)."""

from __future__ import annotations

import argparse
import json
from fnmatch import fnmatch


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="print the model table: params, MACs at 224 px, paper top-1")
    p.add_argument("--models", default="*", help="wildcard over model names (default: all)")
    p.add_argument("--img-size", type=int, default=224)
    p.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")
    p.add_argument("--task", choices=["cls", "det", "seg"], default="cls",
                   help="cls: backbones (default); det / seg: dense models vs the paper's params and FLOPs")
    p.add_argument("--arch", nargs="+", help="det/seg: architectures to list (default: all)")
    p.add_argument("--flops", action="store_true", help="det/seg: also count FLOPs at the paper's input sizes (slow)")
    p.set_defaults(func=run)


def model_table(pattern: str = "*", img_size: int = 224) -> list[dict]:
    from ..models import VARIANTS, count_macs, count_params, create_model, list_models

    rows = []
    for name in list_models(pattern):
        v = VARIANTS[name]
        model = create_model(name)
        rows.append(dict(
            model=name,
            params=count_params(model),
            macs_m=round(count_macs(model, (3, img_size, img_size), fvcore_style=True) / 1e6, 1),
            pure_macs_m=round(count_macs(model, (3, img_size, img_size)) / 1e6, 1),
            paper_params_m=v.paper_params_m,
            paper_macs_m=v.paper_macs_m,
            paper_top1=v.paper_top1,
            paper_top1_kd=v.paper_top1_kd,
        ))
    return rows


def run(args: argparse.Namespace) -> int:
    if getattr(args, "task", "cls") != "cls":
        from .info_dense import dense_table, print_dense_table

        backbones = tuple(n for n in ("emov2_1m", "emov2_2m", "emov2_5m", "emov2_20m") if fnmatch(n, args.models))
        if not backbones:
            raise ValueError(f"no dense backbone matches {args.models!r}")
        print_dense_table(dense_table(args.task, args.arch, backbones, args.flops), args.json)
        return 0
    rows = model_table(args.models, args.img_size)
    if not rows:
        raise ValueError(f"no model matches {args.models!r}")
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"| model | params | MACs @{args.img_size} (fvcore conv.) | conv+matmul MACs | paper params | "
          "paper MACs @224 | paper top-1 | paper top-1 KD |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        kd = f"{r['paper_top1_kd']:.1f}" if r["paper_top1_kd"] else "-"
        print(f"| {r['model']} | {r['params']:,} | {r['macs_m']:.1f}M | {r['pure_macs_m']:.1f}M | "
              f"{r['paper_params_m']:.3f}M | {r['paper_macs_m']:g}M | {r['paper_top1']:.1f} | {kd} |")
    print("\nMACs count conv and matmul multiply-accumulates (attention included) plus normalisation ops, as fvcore"
          " (the paper's counter) does; the next column leaves the norms out. At 224 px the official code also"
          " runs stage 4's attention twice (remote and close windows coincide there); this package computes it once.")
    return 0
