"""``emov2 gen``: train, sample and evaluate class-conditional diffusion generators (D-EMOv2 and DiT).

    emov2 gen train --model d_emov2_t_4 --data fashion-mnist --output runs/demo --steps 500
    emov2 gen sample --checkpoint runs/demo/checkpoints/last.pt --classes 0,1,2 --cfg-scale 4 --out grid.png
    torchrun --nproc-per-node 2 -m emov2 gen sample --checkpoint CKPT --num-fid-samples 10000 --npz samples.npz
    emov2 gen eval --checkpoint runs/demo/checkpoints/last.pt --classifier runs/clf/best.safetensors
    emov2 gen eval --npz samples.npz --classifier runs/clf/best.safetensors
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from .main import UserError

# The choices of emov2.generation.diffusion (SCHEDULES, PREDICTIONS, SAMPLERS), spelled out so that `emov2 --help` stays
# free of torch imports.
SCHEDULES = ("linear", "cosine")
PREDICTIONS = ("eps", "v", "x0")
SAMPLERS = ("ddpm", "ddim", "dpm", "heun")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gen", help="image generation: train / sample / eval D-EMOv2 and DiT diffusion models")
    gsub = p.add_subparsers(dest="gen_command", required=True, metavar="ACTION")
    _register_train(gsub)
    _register_sample(gsub)
    _register_eval(gsub)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _sampling_args(p: argparse.ArgumentParser, defaults: str) -> None:
    p.add_argument("--sampler", choices=SAMPLERS, default=None, help=f"default: {defaults}")
    p.add_argument("--steps", "--num-sampling-steps", dest="steps", type=int, default=None,
                   help="denoising steps")
    p.add_argument("--cfg-scale", type=float, default=None, help="classifier-free guidance scale (1: off)")
    p.add_argument("--eta", type=float, default=0.0, help="DDIM noise scale (0: deterministic)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=100, help="images per sampling batch (per process)")
    p.add_argument("--no-ema", action="store_true", help="use the raw weights instead of the EMA weights")
    p.add_argument("--vae", help="AutoencoderKL folder (defaults to the one recorded at training time)")


def _register_train(gsub) -> None:
    p = gsub.add_parser("train", help="train a generator (EMA, AMP, resume, sample grids, DDP under torchrun)")
    p.add_argument("--model", required=True, help="generator name, e.g. d_emov2_t_4, dit_s_2")
    p.add_argument("--data", required=True, help="'fashion-mnist', a folder of IDX files, or an ImageFolder tree")
    p.add_argument("--output", required=True, help="output folder (checkpoints/, samples/, log.jsonl)")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--vae", help="local diffusers AutoencoderKL folder: train in latent space (no download)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=64, help="global batch size")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--grad-clip", type=float, default=0.0)
    p.add_argument("--ema-decay", type=float, default=0.9999)
    p.add_argument("--amp", choices=("none", "bf16", "fp16"), default="none")
    p.add_argument("--class-dropout", type=float, default=0.1, help="label drop probability for CFG")
    p.add_argument("--no-learn-sigma", action="store_true", help="fixed variance, no variational-bound term")
    p.add_argument("--num-timesteps", type=int, default=1000, help="diffusion chain length")
    p.add_argument("--schedule", choices=SCHEDULES, default="linear", help="noise schedule (DiT: linear)")
    p.add_argument("--prediction", choices=PREDICTIONS, default="eps", help="training target (DiT: eps)")
    p.add_argument("--snr-gamma", type=float, default=0.0, help="Min-SNR-γ loss weighting (0: off, DiT)")
    p.add_argument("--warmup-steps", type=int, default=0, help="linear lr warm-up steps (0: constant lr, DiT)")
    p.add_argument("--limit", type=int, help="use only the first N training images")
    p.add_argument("--sample-every", type=int, default=0, help="save an EMA sample grid every N steps (0: never)")
    p.add_argument("--sample-steps", type=int, default=50)
    p.add_argument("--sample-cfg", type=float, default=4.0)
    p.add_argument("--ckpt-every", type=int, default=0, help="keep a checkpoint every N steps (last.pt always)")
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--resume", help="checkpoint to resume from, or 'auto' (OUTPUT/checkpoints/last.pt)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--model-kwargs", default="{}", help="JSON overrides, e.g. '{\"window_size\": 4}'")
    _common(p)
    p.set_defaults(func=run_train)


def _register_sample(gsub) -> None:
    p = gsub.add_parser("sample", help="a grid of class-conditional samples, or DiT's .npz sample batch "
                                       "(--num-fid-samples, --npz; class-balanced, torchrun-parallel)")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--classes", default="all", help="grid: comma-separated class ids, or 'all'")
    p.add_argument("--per-class", type=int, default=8, help="grid: samples per class (one row per class)")
    p.add_argument("--out", help="grid PNG path")
    p.add_argument("--num-fid-samples", type=int, help="write this many samples to --npz (DiT: 50000)")
    p.add_argument("--npz", help="sample batch path (.npz: arr_0 uint8 (N, H, W, 3), labels (N,))")
    _sampling_args(p, "grid: ddim, 50 steps, cfg 4; npz: DiT's ddpm, 250 steps, cfg 1.5")
    _common(p)
    p.set_defaults(func=run_sample)


def _register_eval(gsub) -> None:
    p = gsub.add_parser("eval", help="FID(-like) score and class accuracy of samples (pluggable feature extractor)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="generator checkpoint: draw --num-samples class-balanced samples")
    src.add_argument("--npz", help="score an existing sample batch (.npz from `gen sample --npz`)")
    p.add_argument("--data", default="fashion-mnist", help="real images for the reference statistics")
    p.add_argument("--image-size", type=int, help="size of the real images (default: the checkpoint's / npz's)")
    p.add_argument("--extractor", choices=("auto", "inception", "classifier"), default="auto",
                   help="auto: FID-Inception if its weights are a local file, else --classifier")
    p.add_argument("--inception-weights", help="local FID-Inception weights (pt_inception-2015-12-05-*.pth)")
    p.add_argument("--classifier", help="best.safetensors (+ best.json) written by `emov2 train`")
    p.add_argument("--num-samples", type=int, default=1000, help="generated images (balanced over classes)")
    p.add_argument("--num-real", type=int, default=10000, help="real test images for the reference")
    p.add_argument("--json", help="also write the result to this JSON file")
    _sampling_args(p, "ddim, 50 steps, cfg 1")
    _common(p)
    p.set_defaults(func=run_eval)


def _threads(args) -> None:
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")


def _device(args) -> str:
    import torch

    return ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device


def run_train(args: argparse.Namespace) -> int:
    _threads(args)
    from ..generation import GENERATORS
    from ..generation.train import TrainConfig, train

    if args.model not in GENERATORS:
        raise UserError(f"unknown generator {args.model!r}; known: {', '.join(GENERATORS)}")
    try:
        model_kwargs = json.loads(args.model_kwargs)
    except json.JSONDecodeError as e:
        raise UserError(f"--model-kwargs is not JSON: {e}") from e
    cfg = TrainConfig(
        model=args.model, data=args.data, output=args.output, image_size=args.image_size, vae=args.vae,
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
        grad_clip=args.grad_clip, ema_decay=args.ema_decay, amp=args.amp, class_dropout=args.class_dropout,
        learn_sigma=not args.no_learn_sigma, num_timesteps=args.num_timesteps, schedule=args.schedule,
        prediction=args.prediction, snr_gamma=args.snr_gamma, warmup_steps=args.warmup_steps, limit=args.limit,
        sample_every=args.sample_every,
        sample_steps=args.sample_steps, sample_cfg=args.sample_cfg, ckpt_every=args.ckpt_every,
        log_every=args.log_every, resume=args.resume, seed=args.seed, workers=args.workers, device=args.device,
        progress=not args.no_progress, model_kwargs=model_kwargs,
    )
    summary = train(cfg)
    if "checkpoint" in summary:  # rank 0 only under torchrun
        print(json.dumps(summary))
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

    return load_generator(args.checkpoint, ema=not args.no_ema, vae=args.vae, device=device or _device(args))


def _sample_kwargs(args, sampler: str, steps: int, cfg: float) -> dict:
    return dict(sampler=args.sampler or sampler, steps=args.steps or steps,
                cfg_scale=cfg if args.cfg_scale is None else args.cfg_scale, eta=args.eta)


def run_sample(args: argparse.Namespace) -> int:
    _threads(args)
    if (args.npz is None) != (args.num_fid_samples is None):
        raise UserError("--npz and --num-fid-samples go together")
    if args.npz is None and not args.out:
        raise UserError("give --out GRID.png, or --num-fid-samples N --npz OUT.npz")
    if args.npz:
        return _run_sample_npz(args)
    from ..generation.sampling import generate, save_grid

    model, diffusion, _, codec = _load(args)
    labels = _labels(args.classes, model.num_classes, args.per_class)
    images = generate(model, diffusion, labels, codec=codec, seed=args.seed, batch_size=args.batch_size,
                      progress=not args.no_progress, **_sample_kwargs(args, "ddim", 50, 4.0))
    path = save_grid(images, args.out, nrow=args.per_class)
    print(f"wrote {len(images)} samples to {path}")
    return 0


def _run_sample_npz(args) -> int:
    import torch.distributed as dist

    from ..generation.npz import process_group, write_sample_npz

    rank, world, device = process_group(args.device)
    try:
        model, diffusion, _, codec = _load(args, str(device))
        kw = _sample_kwargs(args, "ddpm", 250, 1.5)
        path = write_sample_npz(model, diffusion, args.npz, args.num_fid_samples, rank=rank, world_size=world,
                                batch_size=args.batch_size, seed=args.seed, codec=codec,
                                progress=not args.no_progress and rank == 0, **kw)
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
    if path is not None:
        print(json.dumps(dict(npz=str(path), num_samples=args.num_fid_samples, processes=world, **kw)))
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
        size, channels = args.image_size or fake.shape[-1], 3
        meta.update(npz=args.npz)
        extractor = _extractor(args)
    else:
        extractor = _extractor(args)
        model, diffusion, ckpt, codec = _load(args)
        size = args.image_size or ckpt["config"]["image_size"]
        channels = 3 if codec else model.in_channels
        labels = balanced_labels(args.num_samples, model.num_classes)
        kw = _sample_kwargs(args, "ddim", 50, 1.0)
        fake = to_uint8(generate(model, diffusion, labels, codec=codec, seed=args.seed, batch_size=args.batch_size,
                                 progress=not args.no_progress, **kw))
        meta.update(checkpoint=args.checkpoint, step=ckpt.get("step"), model=ckpt["model_args"]["name"],
                    ema=not args.no_ema, **kw)
    real_set, _ = load_dataset(args.data, size, channels, split="test", limit=args.num_real)
    if hasattr(real_set, "tensors"):
        real = real_set.tensors[0]
    else:
        real = torch.stack([real_set[i][0] for i in range(min(len(real_set), args.num_real))])
    result = evaluate_images(extractor, fake, labels, to_uint8(real))
    result.update(meta)
    print(json.dumps(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0
