"""``emov2 bench``: latency / throughput of EMOv2 variants against timm peers, interleaved, with spread."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_MODELS = "emov2_1m,emov2_2m,emov2_5m,edgenext_xx_small,edgenext_x_small,edgenext_small,mobilenetv3_large_100"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="time EMOv2 against timm peers (random init): markdown table, CSV, JSON, PNG",
        description="--runtimes names the runtimes to time (PyTorch eager, ONNX Runtime fp32 / static INT8, "
                    "ExecuTorch XNNPACK fp32 / PT2E INT8); --channels-last / --compile add PyTorch configurations. "
                    "All (model, configuration) pairs are timed interleaved, repetition by repetition; every exported "
                    "runtime is first checked against eager fp32 on real images.",
    )
    p.add_argument("--models", default=DEFAULT_MODELS,
                   help="comma-separated EMOv2 variants and timm names; append +fused to one name to fuse it only")
    p.add_argument("--extra-model", action="append", default=[], metavar="LABEL=MODULE:FACTORY[@TOP1]",
                   help="an external model built by calling FACTORY() (dict/tuple outputs are unwrapped); repeatable")
    p.add_argument("--extra-path", action="append", default=[], metavar="DIR",
                   help="prepend DIR to sys.path before importing --extra-model modules")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--img-size", type=int, default=224)
    p.add_argument("--mode", choices=("infer", "train"), default="infer",
                   help="train: forward + cross-entropy + backward + AdamW step on a fixed random batch")
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32",
                   help="bf16/fp16 use autocast (weights stay fp32)")
    p.add_argument("--channels-last", action="store_true", help="add a channels_last configuration")
    p.add_argument("--compile", action="store_true", help="add a torch.compile configuration")
    p.add_argument("--runtimes", default="eager", metavar="LIST",
                   help="comma-separated subset of eager,onnx,onnx-int8,pte,pte-int8: PyTorch eager (NCHW), ONNX "
                        "Runtime fp32 / static INT8 (QDQ, calibrated), ExecuTorch XNNPACK fp32 / PT2E INT8 (pte needs "
                        "pip install 'emov2[mobile]'); '' with --channels-last or --compile times only those")
    p.add_argument("--onnx-exporter", choices=("auto", "dynamo", "torchscript"), default="auto",
                   help="ONNX exporter for --runtimes onnx, onnx-int8 (auto: dynamo, TorchScript if dynamo fails)")
    p.add_argument("--fused", action="store_true",
                   help="fuse every model (emov2.reparameterize if available, else timm.utils.reparameterize_model)")
    p.add_argument("--threads", type=int, default=None, help="torch and ONNX Runtime intra-op threads")
    p.add_argument("--warmup-calls", type=int, default=3, help="untimed calls per runner before timing")
    p.add_argument("--reps", type=int, default=15, help="interleaved repetitions (samples per runner)")
    p.add_argument("--calls-per-sample", type=int, default=2, help="calls averaged into one timing sample")
    p.add_argument("--num-classes", type=int, default=1000)
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="after timing, print each runner's N most expensive operators by self time (torch.profiler; "
                        "ONNX Runtime's profiler for onnx, onnx-int8; ExecuTorch's ETDump for pte, pte-int8); the "
                        "JSON rows get them as top_ops")
    p.add_argument("--output", default=None, metavar="DIR", help="write bench.csv, bench.json and bench.png here")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..benchmark import (
        BenchConfig,
        markdown_table,
        parse_extra_model,
        parse_models,
        plot_accuracy_latency,
        profile_tables,
        run_benchmark,
        write_csv,
        write_json,
    )
    for d in args.extra_path:
        sys.path.insert(0, d)
    specs = parse_models(args.models, fused=args.fused) + [parse_extra_model(t) for t in args.extra_model]
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"a model is listed twice: {labels}")
    for name, value in (("--batch-size", args.batch_size), ("--img-size", args.img_size), ("--reps", args.reps),
                        ("--calls-per-sample", args.calls_per_sample)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    cfg = BenchConfig(
        models=specs, device=args.device, batch_size=args.batch_size, img_size=args.img_size, mode=args.mode,
        precision=args.precision, channels_last=args.channels_last, compile=args.compile,
        runtimes=args.runtimes, threads=args.threads, warmup=args.warmup_calls,
        reps=args.reps, iters=args.calls_per_sample, num_classes=args.num_classes, onnx_exporter=args.onnx_exporter,
        profile=args.profile,
        work_dir=str(Path(args.output) / "exported") if args.output else None,
    )
    rows, meta = run_benchmark(cfg, log=lambda m: print(m, file=sys.stderr))
    print(f"\n{meta['date']} | {meta['processor']} | torch {meta['torch']} ({meta['torch_threads']} threads) | "
          f"timm {meta['timm']} | {args.device} | {args.mode} | batch {args.batch_size} | {args.img_size}px | "
          f"{args.precision}\n")
    if args.json:
        print(json.dumps({"meta": meta, "rows": rows}, indent=1, default=str))
    else:
        print(markdown_table(rows))
    if args.profile:
        print("\n" + profile_tables(rows))
    if args.output:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(rows, out / "bench.csv")
        write_json(rows, meta, out / "bench.json")
        what = "img/s" if args.mode == "train" else "latency"
        plot_accuracy_latency(rows, out / "bench.png",
                              title=f"{args.mode} {what}: {args.device}, batch {args.batch_size}, {args.img_size}px, "
                                    f"{args.precision} (red: EMOv2, orange: official, blue: peers)")
        print(f"\nwrote {out / 'bench.csv'}, {out / 'bench.json'}, {out / 'bench.png'}", file=sys.stderr)
    return 0
