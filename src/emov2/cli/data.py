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
    _register_make_videos(dsub)


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
