"""``emov2 export``: ONNX / torch.export (.pt2) / ExecuTorch (.pte) / Core ML files, parity-checked; a timm / Hugging
Face hub folder (``--format hf``); the download-size table; INT8-vs-fp32 accuracy on Fashion-MNIST."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .main import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="export to ONNX / .pt2 / .pte / Core ML / a hub folder with a parity check; size table; INT8",
        description="Exports one model. --size-table instead writes fp32/fp16/int8 files for several models and "
                    "prints their sizes; --fashion-mnist instead measures INT8 against fp32 top-1.",
    )
    p.add_argument("--model", help="EMOv2 variant (emov2_1m ...) or a timm model name (optional with an artifact)")
    p.add_argument("--checkpoint", default=None,
                   help="an artifact of any emov2 training command (best.safetensors + best.json, or last.pt), "
                        "an official EMOv2 .pth, or a timm checkpoint")
    p.add_argument("--num-classes", type=int, default=None)
    p.add_argument("--format", choices=("onnx", "pt2", "pte", "coreml", "hf"), default="onnx",
                   help="hf: a timm / Hugging Face hub folder (config.json, model.safetensors, README.md) that "
                        "timm.create_model('local-dir:DIR', pretrained=True) loads")
    p.add_argument("--img-size", type=int, default=224)
    p.add_argument("--static-batch", action="store_true",
                   help="fix the batch size (onnx, pt2 export a dynamic batch by default; pte, coreml are static)")
    p.add_argument("--dynamic-hw", action="store_true", help="any height/width at run time (onnx, pt2)")
    p.add_argument("--fused", action="store_true", help="reparameterize (fold BatchNorm etc.) before export")
    p.add_argument("--output", default=None,
                   help="output file (default: MODEL.<suffix>); a folder for --size-table and --fashion-mnist")
    p.add_argument("--check", action="store_true",
                   help="compare the exported file's outputs with PyTorch on random and real images")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (>= 17; default 20, which has a Gelu op)")
    p.add_argument("--exporter", choices=("auto", "dynamo", "torchscript"), default="auto",
                   help="ONNX exporter: auto = dynamo, falling back to TorchScript if dynamo fails")
    p.add_argument("--quantize", choices=("fp16", "int8-dynamic", "int8-static"), default=None,
                   help="ONNX only: fp16 weights, or int8 via ONNX Runtime (static: calibrated on the scikit-image "
                        "photos, or on Fashion-MNIST with --fashion-mnist)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="--check fails above this max |diff| (fp32)")
    g = p.add_argument_group("size table")
    g.add_argument("--size-table", action="store_true", help="write fp32/fp16/int8 files for --models, print sizes")
    g.add_argument("--models", default="emov2_1m,emov2_2m,emov2_5m,emov2_20m,emov2_50m")
    g = p.add_argument_group("INT8 accuracy on Fashion-MNIST")
    g.add_argument("--fashion-mnist", nargs="?", const="/usr/share/datasets/fashion-mnist", default=None,
                   metavar="DIR", help="measure top-1 of fp32 and int8 ONNX on the test split (10-class checkpoint)")
    g.add_argument("--test-limit", type=int, default=2000, help="test images used (0: all 10,000)")
    p.set_defaults(func=run)


def _default_out(args) -> Path:
    from ..export.api import SUFFIX

    return Path(args.output or f"{args.model or Path(args.checkpoint).stem}{SUFFIX[args.format]}")


def _size_table(args) -> int:
    from ..export.api import load_model
    from ..export.sizes import size_row, size_table_markdown

    out = Path(args.output or "sizes")
    rows = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        print(f"exporting {name} ...", file=sys.stderr)
        model = load_model(name, fused=args.fused)
        rows.append(size_row(name, model, out, img_size=args.img_size, exporter=args.exporter))
    print(size_table_markdown(rows))
    (out / "sizes.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"\nfiles and sizes.json in {out}", file=sys.stderr)
    return 0


def _fashion_mnist(args) -> int:
    from ..benchmark.int8_eval import int8_accuracy
    from ..engine.artifact import read_info
    from ..export.api import _is_artifact, load_model

    if not args.checkpoint or not _is_artifact(args.checkpoint):
        raise UserError("--fashion-mnist measures a trained 10-class model: pass --checkpoint ARTIFACT written by "
                        "`emov2 train --data fashion-mnist` (e.g. runs/demo/best.safetensors)")
    info = read_info(args.checkpoint)
    if info.get("num_classes") != 10:
        raise UserError(f"{args.checkpoint} predicts {info.get('num_classes')} classes, not Fashion-MNIST's 10")
    model = load_model(args.model, args.checkpoint, fused=args.fused)
    img_size = int(info.get("img_size", args.img_size))
    out = Path(args.output or f"{Path(args.checkpoint).stem}_fmnist")
    result = int8_accuracy(model, out, name=info.get("arch", "model"), img_size=img_size, root=args.fashion_mnist,
                           test_limit=args.test_limit or None, exporter=args.exporter,
                           mean=tuple(info["mean"]), std=tuple(info["std"]),
                           log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(result, indent=1))
    (out / "int8_accuracy.json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


def _calibration(args):
    if args.quantize != "int8-static":
        return None
    from ..export.inputs import calibration_images

    images = calibration_images(args.img_size, n=24).numpy()  # random crops and flips of the three photos
    return [images[i:i + 8] for i in range(0, len(images), 8)]


def _dynamic_batch(args) -> bool:
    """Dynamic batch unless --static-batch; .pte and Core ML files are always static."""
    return not args.static_batch and args.format not in ("pte", "coreml")


def _export_hf(args) -> int:
    """A hub folder, then (with --check) the folder reloaded through timm compared with the model."""
    import timm
    import torch

    from ..engine.artifact import read_info
    from ..export.api import _is_artifact, load_model
    from ..models import save_pretrained

    if args.fused:
        raise UserError("--format hf writes trainable weights; drop --fused")
    model = load_model(args.model, args.checkpoint, num_classes=args.num_classes)
    sidecar = read_info(args.checkpoint) if args.checkpoint and _is_artifact(args.checkpoint) else None
    if sidecar is not None and sidecar.get("task") != "cls":
        raise UserError(f"--format hf writes timm classifiers; {args.checkpoint} is a {sidecar.get('task')} artifact")
    name = args.model or (sidecar or {}).get("arch", "model")
    out = save_pretrained(model, args.output or f"{name}_hf", sidecar=sidecar)
    print(f"wrote {out} (config.json, model.safetensors, README.md)")
    if args.check:
        reloaded = timm.create_model(f"local-dir:{out}", pretrained=True).eval()
        x = torch.randn(2, 3, args.img_size, args.img_size, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            diff = (reloaded(x) - model(x)).abs().max().item()
        print(f"  parity timm.create_model('local-dir:{out}', pretrained=True): max |diff| {diff:.2e}")
        if diff > 0:
            print("parity check FAILED: the reloaded model differs", file=sys.stderr)
            return 1
    return 0


def run(args: argparse.Namespace) -> int:
    if args.size_table:
        return _size_table(args)
    if not args.model and not args.checkpoint:
        raise UserError("--model or --checkpoint is required (or --size-table)")
    if args.fashion_mnist:
        return _fashion_mnist(args)
    from ..export.api import export_model, load_model

    if args.img_size < 16:
        raise UserError(f"--img-size must be >= 16, got {args.img_size}")
    if args.format == "hf":
        return _export_hf(args)
    dynamic_batch = _dynamic_batch(args)
    model = load_model(args.model, args.checkpoint, num_classes=args.num_classes, fused=args.fused)
    out = _default_out(args)
    try:
        result = export_model(
            model, args.format, out, img_size=args.img_size, dynamic_batch=dynamic_batch,
            dynamic_hw=args.dynamic_hw, check=args.check, opset=args.opset, exporter=args.exporter,
            quantize=args.quantize, calibration=_calibration(args),
        )
    except RuntimeError as e:  # a runtime package that is missing or broken
        raise UserError(str(e)) from None
    print(f"wrote {result.path} ({result.format}: {result.detail})")
    for p in result.parity:
        print(f"  parity {p}")
    if result.note:
        print(f"  note: {result.note}")
    if args.check and result.parity and not args.quantize and result.max_abs > args.tolerance:
        print(f"parity check FAILED: max |diff| {result.max_abs:.2e} > {args.tolerance:g}", file=sys.stderr)
        return 1
    return 0
