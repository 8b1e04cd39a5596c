"""The loaders of a video run: a Kinetics-style folder (``DIR/train/<class>/*``, ``DIR/val/<class>/*``) or
mmaction2 list files, decoded per item, clips transformed as the V-EMOv2 log, batched by the engine's
:class:`~emov2.engine.data.EpochLoader` (sharded, resumable, per-item seeding) with unreadable videos dropped."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..data.video.collate import collate_clips
from ..data.video.datasets import VideoClipDataset
from ..data.video.transforms import build_video_eval_transform, build_video_train_transform
from ..engine.data import EpochLoader
from ..engine.distributed import DistInfo
from .config import VideoConfig

__all__ = ["VideoData", "build_video_data", "open_split", "read_class_names"]


@dataclass
class VideoData:
    train: EpochLoader
    val: EpochLoader
    classes: list[str]
    description: str
    val_split: str


def read_class_names(path: str | os.PathLike) -> list[str]:
    """One class name per non-empty line."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"class-names file not found: {p}")
    names = [line.strip() for line in p.read_text().splitlines() if line.strip()]
    if not names:
        raise ValueError(f"{p} names no classes")
    return names


def _list_classes(list_file: Path, class_names: str) -> list[str] | None:
    if class_names:
        return read_class_names(class_names)
    beside = list_file.parent / "classes.txt"
    return read_class_names(beside) if beside.is_file() else None


def open_split(source: str | os.PathLike, *, root: str = "", class_names: str = "", classes: list[str] | None = None,
               **kwargs) -> VideoClipDataset:
    """A split from a class folder (``source/<class>/*``) or a list file (paths relative to ``root``, default its
    folder); ``classes`` (e.g. the training split's, or an artifact's) must match. ``kwargs``: the dataset's."""
    src = Path(source)
    if src.is_dir():
        return VideoClipDataset.from_folder(src, classes=classes, **kwargs)
    if src.is_file():
        names = classes if classes is not None else _list_classes(src, class_names)
        return VideoClipDataset.from_list(src, root or None, classes=names, **kwargs)
    raise FileNotFoundError(f"video data not found: {src} (expected a folder of <class>/<video> or a list file)")


def _val_list(train_list: Path, given: str) -> Path:
    if given:
        return Path(given)
    guess = train_list.with_name(train_list.name.replace("train", "val"))
    if guess != train_list and guess.is_file():
        return guess
    raise ValueError(f"--data {train_list} is a list file: give the validation list with --val-data")


def build_video_data(cfg: VideoConfig, d: DistInfo) -> VideoData:
    """Loaders for ``cfg.data``; the global ``cfg.batch_size`` is split evenly over the processes."""
    if not cfg.data:
        raise ValueError("no --data given: pass a folder with train/<class>/* and val/<class>/* videos, or a list "
                         "file (with --val-data)")
    if cfg.batch_size % d.world_size:
        raise ValueError(f"--batch-size {cfg.batch_size} is not divisible by the {d.world_size} processes")
    per_proc = cfg.batch_size // d.world_size
    mean, std = tuple(cfg.mean), tuple(cfg.std)
    train_tf = build_video_train_transform(cfg.img_size, cfg.short_side, randaug_layers=cfg.randaug_layers,
                                           randaug_magnitude=cfg.randaug_magnitude, scale=tuple(cfg.scale),
                                           ratio=tuple(cfg.ratio), hflip=cfg.hflip, mean=mean, std=std)
    eval_tf = build_video_eval_transform(cfg.img_size, cfg.val_short_side or cfg.img_size, mean=mean, std=std)
    common = dict(clip_len=cfg.num_frames, backend=cfg.backend, root=cfg.data_root, class_names=cfg.class_names)
    root = Path(cfg.data)
    if not root.exists():
        raise FileNotFoundError(f"video data not found: {root} (expected a folder with train/ and val/, or a list "
                                "file)")
    if root.is_dir():
        if not (root / "train").is_dir():
            raise FileNotFoundError(f"{root} has no train/ folder (expected {root}/train/<class>/<video> and "
                                    f"{root}/val/<class>/<video>, or pass a list file)")
        train_src, val_src = root / "train", root / "val"
        if not val_src.is_dir():
            raise FileNotFoundError(f"{root} has no val/ folder (expected {val_src}/<class>/<video>)")
    else:
        train_src = root
        val_src = _val_list(root, cfg.val_data)
    train_ds = open_split(train_src, transform=train_tf, train=True, **common)
    val_ds = open_split(val_src, transform=eval_tf, train=False, classes=train_ds.classes, **common)
    if len(train_ds) < per_proc * d.world_size:
        raise ValueError(f"{train_src} has {len(train_ds)} videos, fewer than one batch of {cfg.batch_size}: lower "
                         "--batch-size")
    kw = dict(workers=min(cfg.workers, os.cpu_count() or 1), collate_fn=collate_clips,
              pin_memory=d.device.type == "cuda", seed=cfg.seed)
    train = EpochLoader(train_ds, per_proc, d, train=True, **kw)
    val = EpochLoader(val_ds, per_proc, d, train=False, **kw)
    desc = (f"{cfg.data} ({len(train_ds)} train / {len(val_ds)} val videos, {len(train_ds.classes)} classes, "
            f"{cfg.num_frames} x {cfg.img_size}^2 clips)")
    return VideoData(train, val, train_ds.classes, desc, str(val_src))
