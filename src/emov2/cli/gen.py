"""``emov2 gen``: train, sample and evaluate class-conditional diffusion generators (D-EMOv2 and DiT).

    emov2 gen train --model d_emov2_t_4 --data fashion-mnist --output runs/demo --steps 500
    emov2 gen sample --checkpoint runs/demo/checkpoints/last.pt --classes 0,1,2 --cfg-scale 4 --out grid.png
    emov2 gen train-classifier --data fashion-mnist --output clf.pt
    emov2 gen eval --checkpoint runs/demo/checkpoints/last.pt --classifier clf.pt --num-samples 500
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from .main import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gen", help="image generation: train / sample / eval D-EMOv2 and DiT diffusion models")
    gsub = p.add_subparsers(dest="gen_command", required=True, metavar="ACTION")
    _register_train(gsub)
    _register_sample(gsub)
    _register_classifier(gsub)
    _register_eval(gsub)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _sampling_args(p: argparse.ArgumentParser, steps: int) -> None:
    p.add_argument("--sampler", choices=("ddpm", "ddim"), default="ddim")
    p.add_argument("--steps", type=int, default=steps, help="denoising steps")
    p.add_argument("--cfg-scale", type=float, default=4.0, help="classifier-free guidance scale (1: off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=100)
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
    p.add_argument("--no-learn-sigma", action="store_true", help="fixed variance and plain ε-MSE")
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
    p = gsub.add_parser("sample", help="draw a grid of class-conditional samples from a checkpoint")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--classes", default="all", help="comma-separated class ids, or 'all'")
    p.add_argument("--per-class", type=int, default=8, help="samples per class (one row per class)")
    p.add_argument("--out", required=True, help="PNG path")
    _sampling_args(p, steps=50)
    _common(p)
    p.set_defaults(func=run_sample)


def _register_classifier(gsub) -> None:
    p = gsub.add_parser("train-classifier", help="train the Fashion-MNIST EMOv2 classifier used as FID extractor")
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--output", required=True, help="checkpoint path (.pt)")
    p.add_argument("--model", default="emov2_1m")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--window-size", type=int, default=0, help="attention window (0: global, right for 32 px)")
    p.add_argument("--limit", type=int, help="use only the first N train and test images")
    p.add_argument("--seed", type=int, default=0)
    _common(p)
    p.set_defaults(func=run_classifier)


def _register_eval(gsub) -> None:
    p = gsub.add_parser("eval", help="FID-like score and class accuracy of samples (pluggable feature extractor)")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", default="fashion-mnist", help="real images for the reference statistics")
    p.add_argument("--extractor", choices=("auto", "inception", "classifier"), default="auto",
                   help="auto: Inception if its weights are local, else --classifier")
    p.add_argument("--inception-weights", help="torchvision inception_v3_google-*.pth (local file)")
    p.add_argument("--classifier", help="checkpoint from `emov2 gen train-classifier`")
    p.add_argument("--num-samples", type=int, default=1000, help="generated images (balanced over classes)")
    p.add_argument("--num-real", type=int, default=10000, help="real test images for the reference")
    p.add_argument("--json", help="also write the result to this JSON file")
    _sampling_args(p, steps=50)
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
        learn_sigma=not args.no_learn_sigma, limit=args.limit, sample_every=args.sample_every,
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


def _load(args):
    from ..generation.sampling import load_generator

    return load_generator(args.checkpoint, ema=not args.no_ema, vae=args.vae, device=_device(args))


def _sample_kwargs(args) -> dict:
    return dict(sampler=args.sampler, steps=args.steps, cfg_scale=args.cfg_scale, seed=args.seed,
                batch_size=args.batch_size, progress=not args.no_progress)


def run_sample(args: argparse.Namespace) -> int:
    _threads(args)
    from ..generation.sampling import generate, save_grid

    model, diffusion, _, codec = _load(args)
    labels = _labels(args.classes, model.num_classes, args.per_class)
    images = generate(model, diffusion, labels, codec=codec, **_sample_kwargs(args))
    path = save_grid(images, args.out, nrow=args.per_class)
    print(f"wrote {len(images)} samples to {path}")
    return 0


def run_classifier(args: argparse.Namespace) -> int:
    _threads(args)
    import torch

    from ..generation.data import load_dataset
    from ..generation.fid import ClassifierExtractor, accuracy, extract, train_classifier

    train_set, num_classes = load_dataset(args.data, 32, 1, limit=args.limit)
    test_set, _ = load_dataset(args.data, 32, 1, split="test", limit=args.limit)
    x, y = train_set.tensors
    model, ckpt = train_classifier(x, y, name=args.model, num_classes=num_classes, epochs=args.epochs,
                                   batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                                   window_size=args.window_size, progress=not args.no_progress)
    xt, yt = test_set.tensors
    _, logits = extract(ClassifierExtractor(model), xt)
    ckpt["test_accuracy"] = accuracy(logits, yt)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, args.output)
    print(json.dumps(dict(output=args.output, steps=ckpt["steps"], test_accuracy=round(ckpt["test_accuracy"], 4))))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    _threads(args)
    import torch

    from ..generation.data import load_dataset
    from ..generation.fid import ClassifierExtractor, InceptionExtractor, evaluate_images, find_inception_weights
    from ..generation.sampling import generate

    model, diffusion, ckpt, codec = _load(args)
    inception = args.inception_weights or (find_inception_weights() if args.extractor != "classifier" else None)
    if args.extractor == "inception" and not inception:
        raise UserError("no local Inception-v3 weights: pass --inception-weights or use --extractor classifier")
    if inception and args.extractor != "classifier":
        extractor = InceptionExtractor(inception)
    elif args.classifier:
        extractor = ClassifierExtractor.from_checkpoint(args.classifier)
    else:
        raise UserError("no feature extractor: no local Inception weights and no --classifier checkpoint "
                        "(train one with `emov2 gen train-classifier`)")
    channels = 3 if codec else model.in_channels
    real_set, _ = load_dataset(args.data, ckpt["config"]["image_size"], channels, split="test", limit=args.num_real)
    if hasattr(real_set, "tensors"):
        real = real_set.tensors[0]
    else:
        real = torch.stack([real_set[i][0] for i in range(min(len(real_set), args.num_real))])
    labels = torch.arange(args.num_samples) % model.num_classes  # balanced over classes
    fake = generate(model, diffusion, labels, codec=codec, **_sample_kwargs(args))
    result = evaluate_images(extractor, fake, labels, real)
    result.update(checkpoint=args.checkpoint, step=ckpt.get("step"), model=ckpt["model_args"]["name"],
                  sampler=args.sampler, steps=args.steps, cfg_scale=args.cfg_scale, ema=not args.no_ema)
    print(json.dumps(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0
