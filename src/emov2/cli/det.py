"""``emov2 det train|eval|predict``: COCO-format detection with torchvision detectors on EMOv2 backbones.

Data: ``--data ROOT`` reads ``ROOT/instances_{training,validation}.json`` with images in
``ROOT/images/{training,validation}`` (the ``emov2 data make-shapes`` layout) or, when present, COCO's
``ROOT/annotations/instances_{train,val}2017.json`` with ``ROOT/{train,val}2017``; ``--train-ann`` etc. override.
Labels are the sorted category ids mapped to 1..K; the artifact keeps the mapping and the class names.
Settings: the paper's recipe of ``--arch`` <- ``--config RECIPE`` <- flags.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from ..detection.config import DetConfig
    from ._train import add_train_flags

    p = sub.add_parser("det", help="object detection / instance segmentation: train, eval, predict")
    dsub = p.add_subparsers(dest="det_command", required=True, metavar="ACTION")
    t = dsub.add_parser("train", help="train a detector on COCO-format data", description=__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_train_flags(t, DetConfig)
    t.set_defaults(func=run_train)

    e = dsub.add_parser("eval", help="COCO box (and mask) mAP of a trained detector")
    e.add_argument("--checkpoint", required=True, help="artifact written by det train (best.safetensors), or last.pt")
    e.add_argument("--data", help="data root (make-shapes layout or COCO 2017 layout)")
    e.add_argument("--val-ann", help="annotation file (overrides --data)")
    e.add_argument("--val-images", help="image folder (overrides --data)")
    e.add_argument("--eval-limit", type=int, default=0, help="first N images only (0: all)")
    e.add_argument("--batch-size", type=int, default=8)
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.set_defaults(func=run_eval)

    q = dsub.add_parser("predict", help="draw detections on images (PNG per image)")
    q.add_argument("--checkpoint", required=True, help="artifact written by det train (best.safetensors), or last.pt")
    q.add_argument("images", nargs="+", help="image files or folders")
    q.add_argument("--output", required=True, help="folder for the PNGs")
    q.add_argument("--score-thresh", type=float, default=0.3)
    q.set_defaults(func=run_predict)


def run_train(args: argparse.Namespace) -> int:
    from ..detection.config import DetConfig
    from ..detection.task import DetectionTask
    from ..engine import fit
    from ._train import print_summary, resolve_settings

    arch = getattr(args, "arch", "ssdlite")
    cfg = resolve_settings(args, DetConfig, "det", base=arch, base_under_config=True)
    task = DetectionTask(cfg)
    print_summary(fit(task, cfg, args.command_line), task, args.json)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from ..artifacts import load_artifact
    from ..detection.task import evaluate_detector, load_dataset

    model, info = load_artifact(args.checkpoint, task="det")
    ds = load_dataset(args, "val", info["arch"], False)
    metrics = evaluate_detector(model, ds, args.batch_size, info["arch"] == "maskrcnn", args.eval_limit or None)
    if args.json:
        print(json.dumps(metrics))
    else:
        for k, v in metrics.items():
            print(f"{k:10s} {v:6.2f}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    import torch

    from ..artifacts import load_artifact
    from ..data.images import list_images, read_rgb_tensor
    from ..detection.draw import draw_detections

    model, info = load_artifact(args.checkpoint, task="det")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for f in list_images(args.images):
        img = read_rgb_tensor(f)
        with torch.no_grad():
            pred = model([img])[0]
        n = draw_detections(img, pred, info["class_names"], out / f"{f.stem}.png", args.score_thresh)
        print(f"{f} -> {out / (f.stem + '.png')}: {n} detections >= {args.score_thresh}")
    return 0
