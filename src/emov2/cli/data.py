"""``emov2 data``: the embedded data sets. ``make-shapes``: Fashion-MNIST objects on canvases (detection and
segmentation); ``make-videos``: moving garments (video recognition); ``make-retina``: retinal-vessel tiles of
scikit-image's fundus photo with pseudo-labels (U-EMOv2)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="make the embedded data sets (make-shapes, make-videos, make-retina)")
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
    _register_make_videos(dsub)
    _register_make_retina(dsub)


def run(args: argparse.Namespace) -> int:
    from ..data.shapes import make_shapes

    counts = make_shapes(args.output, args.num_train, args.num_val, args.size, args.max_objects, args.max_obj_size,
                         args.seed, args.fashion_mnist)
    for split, c in counts.items():
        print(f"{split}: {c['images']} images, {c['objects']} objects")
    print(f"written to {args.output} (COCO: instances_*.json; semantic labels: annotations/*; 11 classes with "
          "background)")
    return 0


def _register_make_videos(dsub: argparse._SubParsersAction) -> None:
    v = dsub.add_parser("make-videos", help="MP4s of Fashion-MNIST garments moving on textures (class = motion)")
    v.add_argument("--output", required=True, help="output folder (train/<class>/*.mp4, val/..., list files)")
    v.add_argument("--per-class-train", type=int, default=48, help="train videos per class")
    v.add_argument("--per-class-val", type=int, default=14, help="val videos per class")
    v.add_argument("--frames", type=int, default=16, help="frames per video")
    v.add_argument("--size", type=int, default=96, help="frame side in pixels (even)")
    v.add_argument("--fps", type=int, default=10)
    v.add_argument("--codec", default="auto", help="FFmpeg encoder (default: H.264 if available, else mpeg4)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--fashion-mnist", help="folder of the Fashion-MNIST .gz files (default: the Debian package's)")
    v.set_defaults(func=run_make_videos)


def run_make_videos(args: argparse.Namespace) -> int:
    from ..data.video.synthetic import make_videos

    meta = make_videos(args.output, args.per_class_train, args.per_class_val, args.frames, args.size, args.fps,
                       args.seed, args.fashion_mnist, codec=args.codec)
    v = meta["videos"]
    print(f"{v['train']} train / {v['val']} val videos, {len(meta['classes'])} classes "
          f"({', '.join(meta['classes'])}), {args.frames} frames of {args.size}x{args.size}, {meta['codec']}")
    print(f"written to {args.output} in {meta['seconds']:.1f} s, {meta['bytes'] / 2**20:.1f} MiB "
          "(Kinetics-style folders, train.txt/val.txt list files, meta.json)")
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
    r.add_argument("--output", required=True, help="output folder")
    r.add_argument("--tile", type=int, default=128, help="tile side in pixels (a multiple of 16)")
    r.add_argument("--gap", type=int, default=1, help="tile rows left out between training and validation")
    r.add_argument("--figure", help="also write this PNG: the photo, its pseudo-labels and the tiles of each split")
    r.set_defaults(func=run_make_retina)


def run_make_retina(args: argparse.Namespace) -> int:
    from ..segmentation.retina import make_retina

    counts = make_retina(args.output, args.tile, args.gap, figure=args.figure)
    print(f"training: {counts['training']} tiles, validation: {counts['validation']} tiles of {args.tile} px "
          f"(vessel PSEUDO-LABELS, not manual masks) written to {args.output}")
    return 0
