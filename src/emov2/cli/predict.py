"""``emov2 predict``: the top-k classes (names and probabilities) of a trained checkpoint for each image."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="classify images with a trained checkpoint (top-k names and probabilities)",
                       description=__doc__)
    p.add_argument("--checkpoint", required=True, help="best.safetensors written by emov2 train (+ its .json)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--topk", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _read(path: str, grayscale: bool):
    """The image as training and eval read it (EXIF upright, 16-bit scaled, transparency over white)."""
    from PIL import UnidentifiedImageError

    from ..data.decode import read_image

    if not Path(path).is_file():
        raise FileNotFoundError(f"image not found: {path}")
    try:
        return read_image(path, grayscale=grayscale)
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise ValueError(f"cannot read image {path} ({e})") from None


def run(args: argparse.Namespace) -> int:
    import torch

    from ..classification.inference import eval_transform_for, load_classifier, predict_topk

    if args.topk < 1:
        raise ValueError("--topk must be at least 1")
    model, info = load_classifier(args.checkpoint)
    tf = eval_transform_for(info)
    x = torch.stack([tf(_read(p, bool(info.get("grayscale")))) for p in args.images])
    probs, idx = predict_topk(model, x, args.topk)
    results = [
        {"image": p, "top": [{"class": info["classes"][i], "index": i, "prob": round(float(q), 5)}
                             for q, i in zip(pr.tolist(), ix.tolist(), strict=True)]}
        for p, pr, ix in zip(args.images, probs, idx, strict=True)
    ]
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for r in results:
        print(r["image"])
        for t in r["top"]:
            print(f"  {100 * t['prob']:6.2f}%  {t['class']}")
    return 0
