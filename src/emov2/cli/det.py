"""``emov2 det train|eval|predict``: COCO-format detection with torchvision detectors on EMOv2 backbones.

Data: ``--data ROOT`` reads ``ROOT/instances_{training,validation}.json`` with images in
``ROOT/images/{training,validation}`` (the ``emov2 data make-shapes`` layout) or, when present, COCO's
``ROOT/annotations/instances_{train,val}2017.json`` with ``ROOT/{train,val}2017``; ``--train-ann`` etc. override.
Labels are the sorted category ids mapped to 1..K; the checkpoint keeps the mapping and the class names.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ._dense import (
    add_train_flags,
    evaluate_before,
    finish_run,
    main_process,
    make_loader,
    resolve_recipe,
    seed_everything,
    wrap_ddp,
)
from .main import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("det", help="object detection / instance segmentation: train, eval, predict")
    dsub = p.add_subparsers(dest="det_command", required=True, metavar="ACTION")

    t = dsub.add_parser("train", help="train a detector on COCO-format data")
    add_train_flags(t, ["ssdlite", "retinanet", "maskrcnn"], lambda a: _data_flags(a, train=True))
    t.add_argument("--size", type=int, help="SSDLite input size (320 or 512 in the paper)")
    t.add_argument("--min-size", type=int, help="RetinaNet / Mask R-CNN shorter side")
    t.add_argument("--max-size", type=int, help="RetinaNet / Mask R-CNN longer side limit")
    t.set_defaults(func=run_train)

    e = dsub.add_parser("eval", help="COCO box (and mask) mAP of a checkpoint")
    e.add_argument("--checkpoint", required=True)
    _data_flags(e, train=False)
    e.add_argument("--limit", type=int, help="first N images only")
    e.add_argument("--batch-size", type=int, default=8)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=run_eval)

    q = dsub.add_parser("predict", help="draw detections on images and save PNGs")
    q.add_argument("--checkpoint", required=True)
    q.add_argument("images", nargs="+", help="image files or folders")
    q.add_argument("--out", required=True)
    q.add_argument("--score-thresh", type=float, default=0.3)
    q.set_defaults(func=run_predict)


def _data_flags(p: argparse.ArgumentParser, train: bool) -> None:
    p.add_argument("--data", help="data root (make-shapes layout or COCO 2017 layout)")
    if train:
        p.add_argument("--train-ann")
        p.add_argument("--train-images")
    p.add_argument("--val-ann")
    p.add_argument("--val-images")


def _paths(args, split: str) -> tuple[Path, Path]:
    ann, imgs = getattr(args, f"{split}_ann", None), getattr(args, f"{split}_images", None)
    if (ann is None or imgs is None) and args.data is None:
        raise UserError(f"give --data or both --{split}-ann and --{split}-images")
    root = Path(args.data) if args.data else None
    if root is not None:
        coco = {"train": "train2017", "val": "val2017"}[split]
        shapes = {"train": "training", "val": "validation"}[split]
        if (root / "annotations" / f"instances_{coco}.json").is_file():
            ann = ann or root / "annotations" / f"instances_{coco}.json"
            imgs = imgs or root / coco
        else:
            ann = ann or root / f"instances_{shapes}.json"
            imgs = imgs or root / "images" / shapes
    return Path(ann), Path(imgs)


def _dataset(args, split: str, arch: str, train: bool, recipe: dict | None = None):
    from ..detection.data import CocoDetection
    from ..detection.transforms import detection_transforms

    ann, imgs = _paths(args, split)
    aug = {"expand_ratio": recipe["expand_ratio"]} if recipe and "expand_ratio" in recipe else {}
    ds = CocoDetection(imgs, ann, detection_transforms(arch, train, **aug), with_masks=arch == "maskrcnn",
                       skip_empty=train)
    if ds.skipped and main_process():
        print(f"{ann}: skipped annotations: " + ", ".join(f"{k} {v}" for k, v in sorted(ds.skipped.items())))
    if len(ds) == 0:
        raise UserError(f"{ann}: no usable images")
    return ds


def _model_kwargs(arch: str, recipe: dict) -> dict:
    if arch == "ssdlite":
        return {"size": recipe["size"], "head_init_std": recipe.get("head_init_std", 0.001)}
    return {"min_size": recipe["min_size"], "max_size": recipe["max_size"]}


def build_from_checkpoint(path: str):
    """The detector stored in a ``last.pt`` written by ``det train``, in eval mode, and its config."""
    from ..detection import create_detector
    from ..utils.checkpoint import load_checkpoint

    ck = load_checkpoint(path)
    cfg = ck.get("config", {})
    if cfg.get("task") != "det":
        raise UserError(f"{path}: not a detection checkpoint written by `emov2 det train`")
    model = create_detector(cfg["arch"], cfg["backbone"], cfg["num_classes"], **cfg["model_kwargs"])
    model.load_state_dict(ck["model"])
    return model.eval(), cfg


def run_train(args: argparse.Namespace) -> int:
    from ..detection import create_detector
    from ..detection.data import collate
    from ..detection.engine import detection_loss, evaluate_detector
    from ..utils.loop import train_loop
    from ..utils.optim import build_adamw, warmup_constant_cosine

    recipe = resolve_recipe("det", args)
    for key in ("size", "min_size", "max_size"):
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)
    seed_everything(args.seed)
    train_ds = _dataset(args, "train", args.arch, True, recipe)
    val_ds = _dataset(args, "val", args.arch, False)
    if val_ds.label_to_cat != train_ds.label_to_cat:
        raise UserError("training and validation files list different categories")
    loader = make_loader(train_ds, recipe["batch_size"], args.workers, collate, True, args.seed)
    iters = recipe.get("iters") or recipe["epochs"] * max(1, len(loader))
    model_kwargs = _model_kwargs(args.arch, recipe)
    model = create_detector(args.arch, args.backbone, train_ds.num_classes,
                            backbone_checkpoint=args.backbone_checkpoint,
                            frozen_stages=recipe["frozen_stages"], norm_eval=recipe["norm_eval"], **model_kwargs)
    config = dict(task="det", arch=args.arch, backbone=args.backbone, num_classes=train_ds.num_classes,
                  model_kwargs=model_kwargs, class_names=train_ds.class_names,
                  label_to_cat={str(k): v for k, v in train_ds.label_to_cat.items()}, recipe=recipe, iters=iters)
    masks = args.arch == "maskrcnn"

    def eval_fn(m):
        return evaluate_detector(m, val_ds, 8, masks, args.eval_limit) if main_process() else {}

    out = Path(args.out)
    evaluate_before(out, model, eval_fn, skip=args.no_eval_before)
    opt = build_adamw(model, recipe["lr"], recipe["weight_decay"])
    sched = warmup_constant_cosine(iters, min(recipe["warmup"], iters // 5), recipe["warmup_factor"],
                                   recipe["constant_until"])
    ddp_model = wrap_ddp(model)
    metrics = train_loop(ddp_model, loader, opt, sched, iters, detection_loss, out, eval_fn, args.eval_every,
                         recipe["clip_grad"], log_every=max(1, min(20, iters // 20)), config=config)
    finish_run(out, metrics, "AP")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from ..detection.engine import evaluate_detector

    model, cfg = build_from_checkpoint(args.checkpoint)
    ds = _dataset(args, "val", cfg["arch"], False)
    metrics = evaluate_detector(model, ds, args.batch_size, cfg["arch"] == "maskrcnn", args.limit)
    if args.json:
        print(json.dumps(metrics))
    else:
        for k, v in metrics.items():
            print(f"{k:10s} {v:6.2f}")
    return 0


def list_images(paths: list[str]) -> list[Path]:
    exts = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix.lower() in exts)
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"no such image or folder: {p}")
    if not files:
        raise UserError("no images found")
    return files


@torch.no_grad()
def run_predict(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from ..detection.draw import draw_detections

    model, cfg = build_from_checkpoint(args.checkpoint)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for f in list_images(args.images):
        img = torch.from_numpy(np.asarray(Image.open(f).convert("RGB")).copy()).permute(2, 0, 1).float() / 255
        pred = model([img])[0]
        n = draw_detections(img, pred, cfg["class_names"], out / f"{f.stem}.png", args.score_thresh)
        print(f"{f} -> {out / (f.stem + '.png')}: {n} detections >= {args.score_thresh}")
    return 0


