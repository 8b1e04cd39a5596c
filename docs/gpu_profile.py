"""Where the time goes: torch.profiler table of one model's inference (bf16 autocast, channels_last).

    python docs/gpu_profile.py [--model emov2_5m] [--fused] [--batch 256] [--device cuda] [--out profile.txt]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

import emov2
from emov2.benchmark.models import OutputAdapter, _import_factory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="emov2_5m")
    ap.add_argument("--no-fused", action="store_true")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--img-size", type=int, default=224)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--compile", action="store_true", help="profile the torch.compile'd model")
    ap.add_argument("--rows", type=int, default=30)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if ":" in args.model:  # MODULE:FACTORY, e.g. official_env:official.EMO2_5M_k5_hybrid (with .official on sys.path)
        sys.path.insert(0, ".official")
        model = OutputAdapter(_import_factory(args.model)()).eval()
        args.no_fused = True
    else:
        model = emov2.create_model(args.model).eval()
    if not args.no_fused:
        model = emov2.reparameterize(model)
    model = model.to(args.device).to(memory_format=torch.channels_last)
    if args.compile:
        model = torch.compile(model)
    x = torch.randn(args.batch, 3, args.img_size, args.img_size, device=args.device)
    x = x.contiguous(memory_format=torch.channels_last)
    cuda = args.device.startswith("cuda")
    dtype = torch.bfloat16

    def step():
        with torch.inference_mode(), torch.autocast(torch.device(args.device).type, dtype=dtype):
            model(x)

    for _ in range(3):
        step()
    if cuda:
        torch.cuda.synchronize()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(args.steps):
            step()
        if cuda:
            torch.cuda.synchronize()
    sort = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    table = prof.key_averages().table(sort_by=sort, row_limit=args.rows, max_name_column_width=60)
    header = f"{args.model} fused={not args.no_fused} batch {args.batch} {args.img_size}px bf16 channels_last, " \
             f"{args.steps} steps on {args.device}{', compiled' if args.compile else ''}\n"
    print(header + table)
    if args.out:
        Path(args.out).write_text(header + table)


if __name__ == "__main__":
    main()
