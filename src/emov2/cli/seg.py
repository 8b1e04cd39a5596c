"""``emov2 seg train|eval|predict``: semantic segmentation on ADE20K-layout data with EMOv2 backbones.

Data: ``--data ROOT`` with ``images/{training,validation}`` and ``annotations/{training,validation}``.
ADE20K itself: ``--num-classes 150 --reduce-zero-label``; the ``make-shapes`` set: ``--num-classes 11``
(background + 10 Fashion-MNIST classes, the default). Settings: the paper's recipe of ``--arch`` <-
``--config RECIPE`` <- flags.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from ..segmentation.config import SegConfig
    from ._train import add_train_flags

    p = sub.add_parser("seg", help="semantic segmentation: train, eval, predict")
    ssub = p.add_subparsers(dest="seg_command", required=True, metavar="ACTION")
    t = ssub.add_parser("train", help="train a segmenter on ADE20K-layout data", description=__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_train_flags(t, SegConfig)
    t.set_defaults(func=run_train)

    e = ssub.add_parser("eval", help="mIoU / aAcc / mAcc of a trained segmenter")
    e.add_argument("--checkpoint", required=True, help="artifact written by seg train (best.safetensors), or last.pt")
    e.add_argument("--data", required=True, help="ADE20K-layout root")
    e.add_argument("--val-split", default="validation", help="split folder name")
    e.add_argument("--eval-limit", type=int, default=0, help="first N images only (0: all)")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.set_defaults(func=run_eval)

    q = ssub.add_parser("predict", help="colour-coded segmentation drawn on the images (PNG per image)")
    q.add_argument("--checkpoint", required=True, help="artifact written by seg train (best.safetensors), or last.pt")
    q.add_argument("images", nargs="+", help="image files or folders")
    q.add_argument("--output", required=True, help="folder for the PNGs")
    q.add_argument("--alpha", type=float, default=0.5, help="overlay opacity")
    q.set_defaults(func=run_predict)


def run_train(args: argparse.Namespace) -> int:
    from ..engine import fit
    from ..segmentation.config import SegConfig
    from ..segmentation.task import SegmentationTask
    from ._train import print_summary, resolve_settings

    arch = getattr(args, "arch", "deeplabv3")
    recipe = {"unet": "unet_hrf"}.get(arch, arch)  # U-EMOv2's recipe is the HRF one
    cfg = resolve_settings(args, SegConfig, "seg", base=recipe, base_under_config=True)
    task = SegmentationTask(cfg)
    print_summary(fit(task, cfg, args.command_line), task, args.json)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from ..artifacts import load_artifact
    from ..segmentation.data import SegmentationFolder
    from ..segmentation.engine import VESSEL_CLASSES, evaluate_segmenter
    from ..segmentation.hrf import VesselFolder
    from ..segmentation.transforms import SegEval

    model, info = load_artifact(args.checkpoint, task="seg")
    prep = SegEval(tuple(info["scale"]))
    hrf = info.get("data_layout") == "hrf"
    ds = VesselFolder(args.data, args.val_split, prep) if hrf else SegmentationFolder(
        args.data, args.val_split, info["num_classes"], info["reduce_zero_label"], prep)
    if len(ds) == 0:
        raise ValueError(f"{args.data}: no image/label pairs in split {args.val_split!r}")
    slide = tuple(info["slide"]) if info.get("slide") else None
    metrics = evaluate_segmenter(model, ds, args.eval_limit or None, slide=slide,
                                 metrics=("mDice", "mIoU") if hrf else ("mIoU",),
                                 class_names=VESSEL_CLASSES if hrf else None)
    print(json.dumps(metrics) if args.json else "\n".join(f"{k:6s} {v:6.2f}" for k, v in metrics.items()))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    import torch

    from ..artifacts import load_artifact
    from ..data.images import list_images, read_rgb_tensor
    from ..segmentation.draw import draw_segmentation, draw_vessels
    from ..segmentation.engine import predict_logits
    from ..segmentation.transforms import SegEval

    model, info = load_artifact(args.checkpoint, task="seg")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    prep = SegEval(tuple(info["scale"]))
    slide = tuple(info["slide"]) if info.get("slide") else None
    for f in list_images(args.images):
        img = read_rgb_tensor(f)
        x, _ = prep(img, None)
        with torch.no_grad():
            pred = predict_logits(model, x, tuple(img.shape[1:]), slide).argmax(0)
        if info.get("data_layout") == "hrf":  # the vessel map over the photo
            draw_vessels(img, pred, out / f"{f.stem}.png", alpha=args.alpha)
        else:
            draw_segmentation(img, pred, info["num_classes"], out / f"{f.stem}.png", args.alpha)
        print(f"{f} -> {out / (f.stem + '.png')}")
    return 0
