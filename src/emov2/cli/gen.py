"""``emov2 gen``: train, sample and evaluate class-conditional diffusion generators (D-EMOv2 and DiT).

    emov2 gen train --output runs/d_emov2_fm --classifier runs/clf/best.safetensors   # the embedded recipe
    emov2 gen sample --checkpoint runs/d_emov2_fm/best.safetensors --classes all --cfg-scale 3 --output grid.png
    torchrun --nproc-per-node 2 -m emov2 gen sample --checkpoint CKPT --num-fid-samples 10000 --npz samples.npz
    emov2 gen eval --checkpoint runs/d_emov2_fm/best.safetensors --classifier runs/clf/best.safetensors
    emov2 gen eval --npz samples.npz --classifier runs/clf/best.safetensors

Training runs on the engine (``--resume``, EMA, AMP, DDP under torchrun, metrics.jsonl, curves.png, best/final
artifacts); ``--config dit_imagenet`` is DiT's ImageNet recipe. ``--checkpoint`` takes an artifact of
``gen train`` (``best``/``final.safetensors``) or its ``last.pt`` (EMA weights), read weights-only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .main import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gen", help="image generation: train / sample / eval D-EMOv2 and DiT diffusion models")
    gsub = p.add_subparsers(dest="gen_command", required=True, metavar="ACTION")
    _register_train(gsub)
    _register_sample(gsub)
    _register_eval(gsub)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="show progress bars")


def _sampling_args(p: argparse.ArgumentParser, defaults: str) -> None:
    from ..generation.config import SAMPLERS

    p.add_argument("--sampler", choices=SAMPLERS, default=None, help=f"default: {defaults}")
    p.add_argument("--num-sampling-steps", type=int, default=None, help="denoising steps")
    p.add_argument("--cfg-scale", type=float, default=None, help="classifier-free guidance scale (1: off)")
    p.add_argument("--eta", type=float, default=0.0, help="DDIM noise scale (0: deterministic)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling noise (chunk k: seed + k)")
    p.add_argument("--batch-size", type=int, default=100, help="images per sampling batch (per process)")
    p.add_argument("--vae", help="AutoencoderKL folder (defaults to the one recorded at training time)")


def _register_train(gsub) -> None:
    from ..generation.config import GenConfig
    from ._train import add_train_flags

    p = gsub.add_parser("train", help="train a generator on the engine (EMA, AMP, --resume, sample grids, FID-like "
                        "evaluation, DDP under torchrun)", description=__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_train_flags(p, GenConfig)
    p.set_defaults(func=run_train)


def _register_sample(gsub) -> None:
    p = gsub.add_parser("sample", help="a grid of class-conditional samples, or DiT's .npz sample batch "
                                       "(--num-fid-samples, --npz; class-balanced, torchrun-parallel)")
    p.add_argument("--checkpoint", required=True, help="artifact of gen train (best.safetensors) or its last.pt")
    p.add_argument("--classes", default="all", help="grid: comma-separated class ids, or 'all'")
    p.add_argument("--per-class", type=int, default=8, help="grid: samples per class (one row per class)")
    p.add_argument("--output", help="grid PNG path")
    p.add_argument("--num-fid-samples", type=int, help="write this many samples to --npz (DiT: 50000)")
    p.add_argument("--npz", help="sample batch path (.npz: arr_0 uint8 (N, H, W, 3), labels (N,))")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    _sampling_args(p, "grid: ddim, 50 steps, cfg 4; npz: DiT's ddpm, 250 steps, cfg 1.5")
    _common(p)
    p.set_defaults(func=run_sample)


def _register_eval(gsub) -> None:
    p = gsub.add_parser("eval", help="FID(-like) score and class accuracy of samples (pluggable feature extractor)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="generator artifact: draw --num-samples class-balanced samples")
    src.add_argument("--npz", help="score an existing sample batch (.npz from `gen sample --npz`)")
    p.add_argument("--data", default="fashion-mnist", help="real images for the reference statistics")
    p.add_argument("--img-size", type=int, help="size of the real images (default: the checkpoint's / npz's)")
    p.add_argument("--extractor", choices=("auto", "inception", "classifier"), default="auto",
                   help="auto: FID-Inception if its weights are a local file, else --classifier")
    p.add_argument("--inception-weights", help="local FID-Inception weights (pt_inception-2015-12-05-*.pth)")
    p.add_argument("--classifier", help="best.safetensors (+ best.json) written by `emov2 train`")
    p.add_argument("--num-samples", type=int, default=1000, help="generated images (balanced over classes)")
    p.add_argument("--num-real", type=int, default=10000, help="real test images for the reference")
    p.add_argument("--output", help="also write the result to this JSON file")
    p.add_argument("--json", action="store_true", help="print the result as JSON (default: one line)")
    _sampling_args(p, "ddim, 50 steps, cfg 1")
    _common(p)
    p.set_defaults(func=run_eval)


def _threads(args) -> None:
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)


def _device(args) -> str:
    from ..engine.distributed import resolve_device

    return str(resolve_device(args.device))


def run_train(args: argparse.Namespace) -> int:
    from ..engine import fit
    from ..generation.config import GenConfig
    from ..generation.task import GenerationTask
    from ._train import print_summary, resolve_settings

    cfg = resolve_settings(args, GenConfig, "gen")
    task = GenerationTask(cfg)
    summary = fit(task, cfg, args.command_line)
    print_summary(summary, task, args.json)
    return 0


def _labels(spec: str, num_classes: int, per_class: int):
    import torch

    if spec == "all":
        classes = list(range(min(num_classes, 10)))
    else:
        try:
            classes = [int(c) for c in spec.split(",") if c.strip()]
        except ValueError as e:
            raise UserError(f"--classes must be comma-separated integers or 'all', got {spec!r}") from e
    bad = [c for c in classes if not 0 <= c < num_classes]
    if bad or not classes:
        raise UserError(f"class ids must be in [0, {num_classes}), got {spec!r}")
    return torch.tensor(classes).repeat_interleave(per_class)


def _load(args, device: str | None = None):
    from ..generation.sampling import load_generator

    return load_generator(args.checkpoint, vae=args.vae, device=device or _device(args))


def _sample_kwargs(args, sampler: str, steps: int, cfg: float) -> dict:
    return dict(sampler=args.sampler or sampler, steps=args.num_sampling_steps or steps,
                cfg_scale=cfg if args.cfg_scale is None else args.cfg_scale, eta=args.eta)


def run_sample(args: argparse.Namespace) -> int:
    _threads(args)
    if (args.npz is None) != (args.num_fid_samples is None):
        raise UserError("--npz and --num-fid-samples go together")
    if args.npz is None and not args.output:
        raise UserError("give --output GRID.png, or --num-fid-samples N --npz OUT.npz")
    if args.npz:
        return _run_sample_npz(args)
    from ..generation.sampling import generate, save_grid

    model, diffusion, _, codec = _load(args)
    labels = _labels(args.classes, model.num_classes, args.per_class)
    kw = _sample_kwargs(args, "ddim", 50, 4.0)
    images = generate(model, diffusion, labels, codec=codec, seed=args.seed, batch_size=args.batch_size,
                      progress=args.progress, **kw)
    path = save_grid(images, args.output, nrow=args.per_class)
    if args.json:
        print(json.dumps(dict(output=str(path), num_samples=len(images), **kw)))
    else:
        print(f"wrote {len(images)} samples to {path}")
    return 0


def _run_sample_npz(args) -> int:
    from ..engine.distributed import cleanup, init_distributed
    from ..generation.npz import write_sample_npz

    d = init_distributed(args.device)
    try:
        model, diffusion, _, codec = _load(args, str(d.device))
        kw = _sample_kwargs(args, "ddpm", 250, 1.5)
        path = write_sample_npz(model, diffusion, args.npz, args.num_fid_samples, rank=d.rank,
                                world_size=d.world_size, batch_size=args.batch_size, seed=args.seed, codec=codec,
                                progress=args.progress and d.is_main, **kw)
    finally:
        cleanup()
    if path is not None:
        result = dict(npz=str(path), num_samples=args.num_fid_samples, processes=d.world_size, **kw)
        print(json.dumps(result) if args.json else f"wrote {args.num_fid_samples} samples to {path} "
              f"({d.world_size} process(es), {kw['sampler']}, {kw['steps']} steps, cfg {kw['cfg_scale']:g})")
    return 0


def _extractor(args):
    from ..generation.fid import ClassifierExtractor, InceptionExtractor, find_inception_weights

    inception = args.inception_weights or (find_inception_weights() if args.extractor != "classifier" else None)
    if args.extractor == "inception" and not inception:
        raise UserError("no local FID-Inception weights: pass --inception-weights or use --extractor classifier")
    if inception and args.extractor != "classifier":
        return InceptionExtractor(inception)
    if args.classifier:
        return ClassifierExtractor.from_artifact(args.classifier)
    raise UserError("no feature extractor: no local Inception weights and no --classifier (train one with "
                    "`emov2 train --config fashion_mnist ...`, see docs/generation.md)")


def run_eval(args: argparse.Namespace) -> int:
    _threads(args)
    import torch

    from ..generation.data import load_dataset
    from ..generation.fid import evaluate_images
    from ..generation.npz import balanced_labels, read_npz
    from ..generation.sampling import generate, to_uint8

    meta: dict = {}
    if args.npz:
        fake, labels = read_npz(args.npz)
        size, channels = args.img_size or fake.shape[-1], 3
        meta.update(npz=args.npz)
        extractor = _extractor(args)
    else:
        extractor = _extractor(args)
        model, diffusion, info, codec = _load(args)
        size = args.img_size or int(info["img_size"])
        channels = 3 if codec else model.in_channels
        labels = balanced_labels(args.num_samples, model.num_classes)
        kw = _sample_kwargs(args, "ddim", 50, 1.0)
        fake = to_uint8(generate(model, diffusion, labels, codec=codec, seed=args.seed, batch_size=args.batch_size,
                                 progress=args.progress, **kw))
        meta.update(checkpoint=args.checkpoint, step=info.get("step"), model=info["arch"],
                    weights=info.get("weights"), **kw)
    real_set, _ = load_dataset(args.data, size, channels, split="test", limit=args.num_real)
    if hasattr(real_set, "tensors"):
        real = real_set.tensors[0]
    else:
        real = torch.stack([real_set[i][0] for i in range(min(len(real_set), args.num_real))])
    result = evaluate_images(extractor, fake, labels, to_uint8(real))
    result.update(meta)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(result, indent=1) + "\n")
    if args.json:
        print(json.dumps(result))
    else:
        acc = f", class accuracy {100 * result['class_accuracy']:.1f}%" if "class_accuracy" in result else ""
        print(f"FID ({result['extractor']}) {result['fid']:.3f}{acc}; {result['num_fake']} samples vs "
              f"{result['num_real']} real images")
    return 0
