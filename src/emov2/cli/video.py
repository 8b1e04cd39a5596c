"""``emov2 video train|eval|predict|curves``: video recognition with V-EMOv2 (EMOv2 in 3-D) on real video files.

Data: a Kinetics-style folder ``DIR/train/<class>/*.mp4`` + ``DIR/val/<class>/*.mp4``, or mmaction2 list files
(``PATH LABEL`` per line: ``--data train.txt --val-data val.txt --data-root DIR``). The embedded set:
``emov2 data make-videos --output DIR`` (classes are motions: train it with ``--hflip 0``, as ``--config motion``
does). Settings: the official Kinetics-400 recipe (``--config k400``) <- ``--config RECIPE`` <- flags. Start from
2-D EMOv2 weights with ``--initial-checkpoint`` (inflated to 3-D). Run it unchanged under ``torchrun`` for DDP.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from ..video.config import VideoConfig
    from ._train import add_train_flags

    p = sub.add_parser("video", help="video recognition (V-EMOv2): train, eval, predict")
    vsub = p.add_subparsers(dest="video_command", required=True, metavar="ACTION")
    t = vsub.add_parser("train", help="train a video classifier (the official K400 recipe, DDP under torchrun, "
                        "--resume)", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_train_flags(t, VideoConfig)
    t.set_defaults(func=run_train)

    e = vsub.add_parser("eval", help="clip- and video-level top-1 / top-5 of a trained video model")
    e.add_argument("--checkpoint", required=True, help="artifact written by video train (best.safetensors), or last.pt")
    e.add_argument("--data", required=True, help="a folder of <class>/<video> (e.g. DIR/val) or a list file")
    e.add_argument("--root", default="", help="folder the list file's paths are relative to (default: its folder)")
    e.add_argument("--test-crops", type=int, choices=(1, 3), default=1,
                   help="1: centre crop; 3: ThreeCrop (video level averages the crops' softmax)")
    e.add_argument("--test-clips", type=int, default=1, help="clips per video (UniformSample test positions)")
    e.add_argument("--batch-size", type=int, default=16)
    e.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    e.add_argument("--backend", choices=("auto", "torchcodec", "pyav"), default="auto", help="video decoder")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.set_defaults(func=run_eval)

    q = vsub.add_parser("predict", help="top-k classes of video files, and a contact sheet of the sampled frames")
    q.add_argument("--checkpoint", required=True, help="artifact written by video train (best.safetensors), or last.pt")
    q.add_argument("videos", nargs="+", metavar="VIDEO")
    q.add_argument("--output", required=True, help="folder for contact_sheet.png and predictions.json")
    q.add_argument("--topk", type=int, default=5)
    q.add_argument("--backend", choices=("auto", "torchcodec", "pyav"), default="auto", help="video decoder")
    q.add_argument("--json", action="store_true", help="print the predictions as JSON")
    q.set_defaults(func=run_predict)

    c = vsub.add_parser("curves", help="training loss and validation top-1 of several runs in one PNG")
    c.add_argument("runs", nargs="+", metavar="RUN", help="run folders (with metrics.jsonl)")
    c.add_argument("--output", required=True, help="the PNG to write")
    c.add_argument("--labels", nargs="+", default=None, help="one legend label per run (default: folder names)")
    c.add_argument("--metric", default="top1", help="validation metric to draw (top1, clip_top1, top5, loss)")
    c.add_argument("--title", default="")
    c.set_defaults(func=run_curves)


def run_train(args: argparse.Namespace) -> int:
    from ..engine import fit
    from ..video.config import VideoConfig
    from ..video.task import VideoTask
    from ._train import print_summary, resolve_settings

    cfg = resolve_settings(args, VideoConfig, "video")
    task = VideoTask(cfg)
    summary = fit(task, cfg, args.command_line)

    def best_line(b: dict, summary: dict) -> str:
        clip = b.get("metrics", {}).get("clip_top1", float("nan"))
        return (f"best val top-1 {b['value']:.2f}% (video level; clip level {clip:.2f}%) at step {b['step']} "
                f"({b['weights']} weights); {summary['samples_per_s']:.1f} clips/s; {summary['wall_s']:.0f} s; "
                f"{summary['output']}")

    print_summary(summary, task, args.json, best_line)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    import torch

    from ..artifacts import load_artifact
    from ..data.video.collate import SkippedVideos, collate_clips
    from ..engine.data import EpochLoader
    from ..engine.distributed import DistInfo
    from ..video.data import open_split
    from ..video.evaluate import evaluate_video
    from ..video.inference import eval_transform_for

    if args.test_clips < 1:
        raise ValueError("--test-clips must be at least 1")
    model, info = load_artifact(args.checkpoint, task="video")
    try:
        ds = open_split(args.data, root=args.root, classes=list(info["classes"]),
                        transform=eval_transform_for(info, args.test_crops), clip_len=int(info["num_frames"]),
                        num_clips=args.test_clips, train=False, backend=args.backend)
    except ValueError as e:
        val = os.path.join(args.data, "val")
        hint = f" (did you mean --data {val}?)" if os.path.isdir(val) and "classes do not match" in str(e) else ""
        raise ValueError(f"{e}{hint}") from None
    loader = EpochLoader(ds, args.batch_size, DistInfo(), train=False, workers=args.workers, collate_fn=collate_clips)
    m = evaluate_video(model, loader, len(info["classes"]), device=torch.device("cpu"), skipped=SkippedVideos(),
                       progress=not args.json)
    if m["videos"] == 0:
        raise ValueError(f"all {m['skipped']} videos in {args.data} are unreadable")
    views = args.test_clips * args.test_crops
    result = {"checkpoint": str(args.checkpoint), "data": args.data, "model": info["arch"],
              "num_frames": info["num_frames"], "img_size": info["img_size"], "test_clips": args.test_clips,
              "test_crops": args.test_crops, "videos": m["videos"], "clips": m["clips"], "skipped": m["skipped"],
              **{k: round(m[k], 3) for k in ("top1", "top5", "clip_top1", "clip_top5")}, "loss": round(m["loss"], 4)}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        skipped = f", {m['skipped']} unreadable skipped" if m["skipped"] else ""
        print(f"{info['arch']} @ {info['num_frames']}x{info['img_size']}^2 on {args.data} ({m['videos']} videos x "
              f"{views} view(s){skipped}): video top-1 {m['top1']:.2f}%  top-5 {m['top5']:.2f}%  |  clip top-1 "
              f"{m['clip_top1']:.2f}%  top-5 {m['clip_top5']:.2f}%  loss {m['loss']:.4f}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from ..artifacts import load_artifact
    from ..data.video.contact_sheet import save_contact_sheet
    from ..data.video.decode import VideoDecodeError
    from ..data.video.transforms import clip_to_frames
    from ..utils.files import atomic_write
    from ..video.inference import predict_video

    if args.topk < 1:
        raise ValueError("--topk must be at least 1")
    model, info = load_artifact(args.checkpoint, task="video")
    classes = list(info["classes"])
    results, clips, true, pred, scores = [], [], [], [], []
    for path in args.videos:
        if not Path(path).is_file():
            raise FileNotFoundError(f"video not found: {path}")
        try:
            p = predict_video(model, info, path, backend=args.backend)
        except VideoDecodeError as e:
            raise ValueError(f"cannot read video ({e})") from None
        prob, idx = p.probs.topk(min(args.topk, len(classes)))
        label = Path(path).parent.name if Path(path).parent.name in classes else None
        results.append({"video": path, "true": label, "frames": p.frame_indices,
                        "top": [{"class": classes[i], "index": i, "prob": round(float(q), 5)}
                                for q, i in zip(prob.tolist(), idx.tolist(), strict=True)]})
        clips.append(clip_to_frames(p.clip, info["mean"], info["std"]))
        true.append(label if label is not None else "?")
        pred.append(classes[idx[0]])
        scores.append(float(prob[0]))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    known = all(t != "?" for t in true)  # true classes from the parent folders' names, when all have one
    sheet = save_contact_sheet(out / "contact_sheet.png", clips, captions=[Path(r["video"]).name for r in results],
                               true=true if known else None, pred=pred, scores=scores)
    text = json.dumps(results, indent=1) + "\n"
    atomic_write(out / "predictions.json", lambda tmp: Path(tmp).write_text(text))
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for r in results:
        print(r["video"] + (f"  (true: {r['true']})" if r["true"] else ""))
        for t in r["top"]:
            print(f"  {100 * t['prob']:6.2f}%  {t['class']}")
    print(f"contact sheet: {sheet}")
    return 0


def run_curves(args: argparse.Namespace) -> int:
    from ..engine.metrics import plot_runs

    print(f"wrote {plot_runs(args.runs, args.output, args.labels, args.metric, args.title)}")
    return 0
