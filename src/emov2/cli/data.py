"""``emov2 data make-shapes``: generate the offline detection/segmentation set from Fashion-MNIST;
``emov2 data make-retina``: the retinal-vessel tiles with pseudo-labels."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="data set tools (make-shapes)")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    m = dsub.add_parser("make-shapes", help="Fashion-MNIST objects on canvases: COCO json + semantic PNGs")
    m.add_argument("--out", required=True, help="output folder")
    m.add_argument("--num-train", type=int, default=512)
    m.add_argument("--num-val", type=int, default=128)
    m.add_argument("--size", type=int, default=128, help="canvas side in pixels")
    m.add_argument("--max-objects", type=int, default=4, help="objects per image: 1..N")
    m.add_argument("--max-obj-size", type=int, default=64, help="largest object side (smallest is 28)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--fashion-mnist", help="folder of the Fashion-MNIST .gz files (default: the Debian package's)")
    m.set_defaults(func=run)
    _register_make_retina(dsub)


def run(args: argparse.Namespace) -> int:
    from ..data.shapes import make_shapes

    counts = make_shapes(args.out, args.num_train, args.num_val, args.size, args.max_objects, args.max_obj_size,
                         args.seed, args.fashion_mnist)
    for split, c in counts.items():
        print(f"{split}: {c['images']} images, {c['objects']} objects")
    print(f"written to {args.out} (COCO: instances_*.json; semantic labels: annotations/*; 11 classes with background)")
    return 0


def _register_make_retina(dsub: argparse._SubParsersAction) -> None:
    r = dsub.add_parser(
        "make-retina",
        help="tiles of skimage's CC0 fundus photo with vessel PSEUDO-LABELS (thresholded Sato vesselness), HRF layout",
        description="Tiles of skimage.data.retina() with vessel pseudo-labels: a thresholded Sato vesselness filter "
                    "on the green channel inside the field of view, not manual annotations. Training tiles come from "
                    "the upper part of the photo, validation tiles from the lower part, one tile row apart. Writes "
                    "images/, annotations/ (0/1) and fov/ (0/1) per split and pseudo_labels.json.",
    )
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument("--tile", type=int, default=128, help="tile side in pixels (a multiple of 16)")
    r.add_argument("--gap", type=int, default=1, help="tile rows left out between training and validation")
    r.add_argument("--figure", help="also write this PNG: the photo, its pseudo-labels and the tiles of each split")
    r.set_defaults(func=run_make_retina)


def run_make_retina(args: argparse.Namespace) -> int:
    from ..segmentation.retina import make_retina

    counts = make_retina(args.out, args.tile, args.gap, figure=args.figure)
    print(f"training: {counts['training']} tiles, validation: {counts['validation']} tiles of {args.tile} px "
          f"(vessel PSEUDO-LABELS, not manual masks) written to {args.out}")
    return 0
