"""``emov2 eval``: top-1 / top-5 / loss of a trained checkpoint on a folder of ``<class>/<image>`` (the paper's
eval transform), or on the Fashion-MNIST test set."""

from __future__ import annotations

import argparse
import json
import os


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a trained checkpoint: top-1, top-5, loss", description=__doc__)
    p.add_argument("--checkpoint", required=True, help="an artifact written by emov2 train (best.safetensors + "
                   "best.json), or its last.pt")
    p.add_argument("--data", required=True, help="folder with <class>/<image> (e.g. DIR/val), or 'fashion-mnist'")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=run)


def _loader(args, info):
    from torch.utils.data import DataLoader

    from ..classification.inference import eval_transform_for
    from ..data.folder import ImageFolderChecked, collate_skip_bad

    if args.data.lower().replace("_", "-") == "fashion-mnist":
        from ..data.fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist
        from ..data.tensor_loader import TensorLoader, resize_uint8

        if info["classes"] != FASHION_MNIST_CLASSES:
            raise ValueError(f"classes do not match: the checkpoint has {len(info['classes'])} "
                             f"({', '.join(info['classes'][:4])}...), not the 10 Fashion-MNIST classes")
        x, y = load_fashion_mnist("test")
        return TensorLoader(resize_uint8(x, int(info["img_size"])), y, args.batch_size, train=False,
                            mean=info["mean"], std=info["std"])
    try:
        ds = ImageFolderChecked(args.data, eval_transform_for(info), classes=info["classes"],
                                grayscale=bool(info.get("grayscale")))
    except ValueError as e:
        val = os.path.join(args.data, "val")
        hint = f" (did you mean --data {val}?)" if os.path.isdir(val) and "classes do not match" in str(e) else ""
        raise ValueError(f"{e}{hint}") from None
    return DataLoader(ds, batch_size=args.batch_size, num_workers=args.workers, collate_fn=collate_skip_bad)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..classification.evaluate import evaluate_classifier
    from ..classification.inference import load_classifier

    model, info = load_classifier(args.checkpoint)
    loader = _loader(args, info)
    m = evaluate_classifier(model, loader, len(info["classes"]), device=torch.device("cpu"),
                            progress=not args.json)
    if m["images"] == 0:
        raise ValueError(f"all {m['skipped']} images in {args.data} are unreadable")
    result = {"checkpoint": str(args.checkpoint), "data": args.data, "model": info["arch"],
              "img_size": info["img_size"], "images": m["images"], "skipped": m["skipped"],
              "top1": round(m["top1"], 3), "top5": round(m["top5"], 3), "loss": round(m["loss"], 4)}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        skipped = f" ({m['skipped']} unreadable skipped)" if m["skipped"] else ""
        print(f"{info['arch']} @ {info['img_size']} px on {args.data}: top-1 {m['top1']:.2f}%  "
              f"top-5 {m['top5']:.2f}%  loss {m['loss']:.4f}  ({m['images']} images{skipped})")
    return 0
