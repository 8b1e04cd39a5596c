"""``emov2 seg train|eval|predict``: semantic segmentation on ADE20K-layout data with EMOv2 backbones.

Data: ``--data ROOT`` with ``images/{training,validation}`` and ``annotations/{training,validation}``.
ADE20K itself: ``--num-classes 150 --reduce-zero-label``; the ``make-shapes`` set: ``--num-classes 11``
(background + 10 Fashion-MNIST classes, the default).
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
    p = sub.add_parser("seg", help="semantic segmentation: train, eval, predict")
    ssub = p.add_subparsers(dest="seg_command", required=True, metavar="ACTION")

    t = ssub.add_parser("train", help="train a segmenter on ADE20K-layout data")
    add_train_flags(t, ["deeplabv3", "pspnet", "fpn", "segformer"], _data_flags)
    t.add_argument("--crop", type=int, help="training crop size (512 in the paper)")
    t.add_argument("--scale", type=int, nargs=2, metavar=("LONG", "SHORT"), help="base resize scale (2048 512)")
    t.set_defaults(func=run_train)

    e = ssub.add_parser("eval", help="mIoU / aAcc / mAcc of a checkpoint")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--split", default="validation")
    e.add_argument("--limit", type=int)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=run_eval)

    q = ssub.add_parser("predict", help="colour-coded segmentation drawn on the images (PNG)")
    q.add_argument("--checkpoint", required=True)
    q.add_argument("images", nargs="+")
    q.add_argument("--out", required=True)
    q.add_argument("--alpha", type=float, default=0.5, help="overlay opacity")
    q.set_defaults(func=run_predict)


def _data_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="ADE20K-layout root")
    p.add_argument("--num-classes", type=int, default=11)
    p.add_argument("--reduce-zero-label", action="store_true", help="label 0 -> ignore, l -> l-1 (ADE20K)")
    p.add_argument("--train-split", default="training")
    p.add_argument("--val-split", default="validation")


def build_from_checkpoint(path: str):
    from ..segmentation import create_segmenter
    from ..utils.checkpoint import load_checkpoint

    ck = load_checkpoint(path)
    cfg = ck.get("config", {})
    if cfg.get("task") != "seg":
        raise UserError(f"{path}: not a segmentation checkpoint written by `emov2 seg train`")
    model = create_segmenter(cfg["arch"], cfg["backbone"], cfg["num_classes"])
    model.load_state_dict(ck["model"])
    return model.eval(), cfg


def run_train(args: argparse.Namespace) -> int:
    from ..segmentation import create_segmenter
    from ..segmentation.data import SegmentationFolder
    from ..segmentation.engine import evaluate_segmenter, segmentation_loss
    from ..segmentation.transforms import SegEval, SegTrain
    from ..utils.loop import train_loop
    from ..utils.optim import build_adamw, warmup_constant_cosine

    recipe = resolve_recipe("seg", args)
    if args.crop:
        recipe["crop"] = args.crop
    if args.scale:
        recipe["scale"] = list(args.scale)
    seed_everything(args.seed)
    train_ds = SegmentationFolder(args.data, args.train_split, args.num_classes, args.reduce_zero_label,
                                  SegTrain(recipe["crop"], tuple(recipe["scale"])))
    val_ds = SegmentationFolder(args.data, args.val_split, args.num_classes, args.reduce_zero_label,
                                SegEval(tuple(recipe["scale"])))
    for ds, split in ((train_ds, args.train_split), (val_ds, args.val_split)):
        if len(ds) == 0:
            raise UserError(f"{args.data}: no image/label pairs in split {split!r}")
        if ds.skipped and main_process():
            print(f"{split}: skipped " + ", ".join(f"{k} {v}" for k, v in ds.skipped.items()))
    model = create_segmenter(args.arch, args.backbone, args.num_classes, backbone_checkpoint=args.backbone_checkpoint,
                             frozen_stages=recipe["frozen_stages"], norm_eval=recipe["norm_eval"])
    loader = make_loader(train_ds, recipe["batch_size"], args.workers, None, True, args.seed)
    iters = recipe["iters"]
    config = dict(task="seg", arch=args.arch, backbone=args.backbone, num_classes=args.num_classes,
                  reduce_zero_label=args.reduce_zero_label, scale=list(recipe["scale"]), recipe=recipe)

    def eval_fn(m):
        return evaluate_segmenter(m, val_ds, args.eval_limit) if main_process() else {}

    out = Path(args.out)
    evaluate_before(out, model, eval_fn, skip=args.no_eval_before)
    opt = build_adamw(model, recipe["lr"], recipe["weight_decay"], recipe["head_lr_mult"], ("decode_head", "aux_head"))
    sched = warmup_constant_cosine(iters, min(recipe["warmup"], iters // 5), recipe["warmup_factor"],
                                   recipe["constant_until"])

    def loss_fn(m, batch):
        return segmentation_loss(m, batch, recipe["aux_weight"])

    metrics = train_loop(wrap_ddp(model), loader, opt, sched, iters, loss_fn, out, eval_fn, args.eval_every,
                         recipe["clip_grad"], log_every=max(1, min(20, iters // 20)), config=config)
    finish_run(out, metrics, "mIoU")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from ..segmentation.data import SegmentationFolder
    from ..segmentation.engine import evaluate_segmenter
    from ..segmentation.transforms import SegEval

    model, cfg = build_from_checkpoint(args.checkpoint)
    ds = SegmentationFolder(args.data, args.split, cfg["num_classes"], cfg["reduce_zero_label"],
                            SegEval(tuple(cfg["scale"])))
    if len(ds) == 0:
        raise UserError(f"{args.data}: no image/label pairs in split {args.split!r}")
    metrics = evaluate_segmenter(model, ds, args.limit)
    print(json.dumps(metrics) if args.json else "\n".join(f"{k:6s} {v:6.2f}" for k, v in metrics.items()))
    return 0


@torch.no_grad()
def run_predict(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from ..segmentation.draw import draw_segmentation
    from ..segmentation.engine import predict_logits
    from ..segmentation.transforms import SegEval
    from .det import list_images

    model, cfg = build_from_checkpoint(args.checkpoint)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    prep = SegEval(tuple(cfg["scale"]))
    for f in list_images(args.images):
        img = torch.from_numpy(np.asarray(Image.open(f).convert("RGB")).copy()).permute(2, 0, 1).float() / 255
        x, _ = prep(img, None)
        pred = predict_logits(model, x, tuple(img.shape[1:])).argmax(0)
        draw_segmentation(img, pred, cfg["num_classes"], out / f"{f.stem}.png", args.alpha)
        print(f"{f} -> {out / (f.stem + '.png')}")
    return 0
