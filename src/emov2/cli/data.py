"""``emov2 data make-shapes``: generate the offline detection/segmentation set from Fashion-MNIST."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="data set tools (make-shapes)")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    m = dsub.add_parser("make-shapes", help="Fashion-MNIST objects on canvases: COCO json + semantic PNGs")
    m.add_argument("--output", required=True, help="output folder")
    m.add_argument("--num-train", type=int, default=512)
    m.add_argument("--num-val", type=int, default=128)
    m.add_argument("--size", type=int, default=128, help="canvas side in pixels")
    m.add_argument("--max-objects", type=int, default=4, help="objects per image: 1..N")
    m.add_argument("--max-obj-size", type=int, default=64, help="largest object side (smallest is 28)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--fashion-mnist", help="folder of the Fashion-MNIST .gz files (default: the Debian package's)")
    m.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.shapes import make_shapes

    counts = make_shapes(args.output, args.num_train, args.num_val, args.size, args.max_objects, args.max_obj_size,
                         args.seed, args.fashion_mnist)
    for split, c in counts.items():
        print(f"{split}: {c['images']} images, {c['objects']} objects")
    print(f"written to {args.output} (COCO: instances_*.json; semantic labels: annotations/*; 11 classes with "
          "background)")
    return 0
