"""The embedded video set: real MP4 files of Fashion-MNIST garments moving on textured backgrounds, where the
class is the motion, so a single frame cannot tell it.

Classes (sorted, as a folder scan sees them): down, left, right, rotate-ccw, rotate-cw, still, up. A video is
drawn in two steps from its own generator ``SeedSequence([seed, split, j])``:

1. everything but the motion, in a fixed order: the garment (any Fashion-MNIST image of the split: 'train'
   images for train, 'test' images for val), its size, colour, the static textured background, the start
   position (uniform over the whole canvas), the start angle (uniform over 0-360 degrees), the speed, the
   angular speed, the per-frame sensor noise;
2. the class sets the velocity: +-speed along x or y, +-angular speed (clockwise on screen), or none.

The canvas is a torus: a garment leaving one edge re-enters at the opposite one. So for every class and every
frame t the position is uniform over the canvas and the angle uniform over the circle, and every other
attribute has the same distribution in every class: **the distribution of a single frame is the same for
every class, and a single frame carries no class information** (a per-frame classifier is at chance). Each
``j`` is a matched set: the videos ``<class>/<j>.mp4`` of one split start from the same frame 0 and differ
only in the motion. Even an average of per-frame predictions cannot separate left from right or clockwise
from counter-clockwise: it is blind to frame order and a time-reversed 'left' clip is a 'right' clip.

Augmentation note: a horizontal flip turns left into right and rotate-cw into rotate-ccw (``meta.json``
lists the pairs); train this set with flip off, or swap those labels when flipping.

Layout::

    DIR/train/<class>/00000.mp4 ...   DIR/val/<class>/...   (Kinetics-style)
    DIR/train.txt, DIR/val.txt        (mmaction2 list files: 'train/left/00000.mp4 1', relative to DIR)
    DIR/classes.txt, DIR/meta.json
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .encode import write_video

__all__ = ["HFLIP_SWAPS", "MOTION_CLASSES", "ClipParams", "make_videos", "render_clip", "sample_params"]

MOTION_CLASSES = ["down", "left", "right", "rotate-ccw", "rotate-cw", "still", "up"]
HFLIP_SWAPS = [("left", "right"), ("rotate-ccw", "rotate-cw")]
_SPLIT_ID = {"train": 0, "val": 1}


@dataclass(frozen=True)
class ClipParams:
    """Everything about a video except its motion (see the module docstring)."""

    garment: int            # index into the split's garment images
    side: float             # garment side on the canvas, px
    colour: tuple[float, float, float]
    x0: float               # start centre, px (x right, y down)
    y0: float
    angle0: float           # start angle, degrees (clockwise on screen)
    speed: float            # px per frame (translation classes)
    spin: float             # degrees per frame (rotation classes)
    background_seed: int
    noise_seed: int


def sample_params(rng: np.random.Generator, size: int, num_garments: int) -> ClipParams:
    """Draw a video's class-independent attributes (always the same draws in the same order)."""
    return ClipParams(
        garment=int(rng.integers(num_garments)),
        side=float(size * rng.uniform(0.34, 0.5)),
        colour=tuple(float(c) for c in rng.uniform(150, 255, 3)),
        x0=float(rng.uniform(0, size)), y0=float(rng.uniform(0, size)),
        angle0=float(rng.uniform(0, 360)),
        speed=float(size * rng.uniform(0.03, 0.05)),
        spin=float(rng.uniform(10, 18)),
        background_seed=int(rng.integers(2**62)), noise_seed=int(rng.integers(2**62)),
    )


def _velocity(motion: str, p: ClipParams) -> tuple[float, float, float]:
    table = {
        "left": (-p.speed, 0.0, 0.0), "right": (p.speed, 0.0, 0.0), "up": (0.0, -p.speed, 0.0),
        "down": (0.0, p.speed, 0.0), "rotate-cw": (0.0, 0.0, p.spin), "rotate-ccw": (0.0, 0.0, -p.spin),
        "still": (0.0, 0.0, 0.0),
    }
    if motion not in table:
        raise ValueError(f"unknown motion {motion!r}; expected one of {', '.join(MOTION_CLASSES)}")
    return table[motion]


def _background(seed: int, size: int) -> torch.Tensor:
    """A static texture (size, size, 3) float 0-255: stripes, checks or smooth blobs in two dark colours."""
    rng = np.random.default_rng(seed)
    kind = int(rng.integers(3))
    c1, c2 = rng.uniform(0, 110, 3), rng.uniform(0, 110, 3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    if kind == 0:
        phi, f = rng.uniform(0, math.pi), rng.uniform(3, 9)
        t = 0.5 + 0.5 * np.sin(2 * math.pi * f * (xx * math.cos(phi) + yy * math.sin(phi)))
    elif kind == 1:
        f = rng.uniform(2, 6)
        t = ((np.floor(xx * f) + np.floor(yy * f)) % 2).astype(np.float64)
    else:
        coarse = torch.from_numpy(rng.uniform(0, 1, (1, 1, 6, 6)))
        t = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)[0, 0].clamp(0, 1).numpy()
    bg = c1 * (1 - t[..., None]) + c2 * t[..., None] + rng.normal(0, 5, (size, size, 3))
    return torch.from_numpy(bg).float()


def render_clip(garment: torch.Tensor, p: ClipParams, motion: str, num_frames: int, size: int) -> torch.Tensor:
    """The uint8 frames (num_frames, size, size, 3) of ``garment`` (28x28 uint8) moving by ``motion``."""
    vx, vy, w = _velocity(motion, p)
    t = torch.arange(num_frames, dtype=torch.float64)
    cx, cy = (p.x0 + vx * t) % size, (p.y0 + vy * t) % size
    theta = torch.deg2rad(p.angle0 + w * t)
    pix = torch.arange(size, dtype=torch.float64) + 0.5
    # offsets from the centre on the torus, in (-size/2, size/2]
    dx = (pix[None, None, :] - cx[:, None, None] + size / 2) % size - size / 2
    dy = (pix[None, :, None] - cy[:, None, None] + size / 2) % size - size / 2
    dx, dy = dx.expand(num_frames, size, size), dy.expand(num_frames, size, size)
    cos, sin = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    scale = p.side / garment.shape[-1]
    # inverse of "rotate clockwise on screen by theta" (y points down), into garment pixels
    u = (cos * dx + sin * dy) / scale
    v = (-sin * dx + cos * dy) / scale
    half = garment.shape[-1] / 2
    grid = torch.stack([u / half, v / half], dim=-1).float()
    g = garment.float()[None, None].expand(num_frames, 1, *garment.shape[-2:]) / 255.0
    alpha = F.grid_sample(g, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0, ..., None]
    colour = torch.tensor(p.colour, dtype=torch.float32)
    noise = torch.from_numpy(np.random.default_rng(p.noise_seed).normal(0, 3, (num_frames, size, size, 3))).float()
    frames = _background(p.background_seed, size)[None] * (1 - alpha) + colour * alpha + noise
    return frames.round().clamp(0, 255).to(torch.uint8)


def _video_rng(seed: int, split: str, j: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_ID[split], j]))


def _dir_size(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def make_videos(out: str | os.PathLike, per_class_train: int = 48, per_class_val: int = 14, num_frames: int = 16,
                size: int = 96, fps: int = 10, seed: int = 0, fashion_mnist: str | os.PathLike | None = None,
                codec: str = "auto", garments: dict[str, torch.Tensor] | None = None,
                progress: bool = True) -> dict:
    """Write the set to ``out`` (see the module docstring); returns the summary also saved as ``meta.json``.

    Args:
        per_class_train, per_class_val: videos per class and split (matched sets ``j = 0 .. n - 1``).
        num_frames, size, fps: frames per video, canvas side (even), frame rate.
        seed: everything is a function of it (same seed: the same frames, and with PyAV's libx264 the same bytes).
        garments: ``{'train': (N, 28, 28) uint8, 'val': ...}`` instead of Fashion-MNIST (tests).
    """
    from tqdm import tqdm

    if size % 2 or size < 16:
        raise ValueError(f"--size must be even and >= 16, got {size}")
    if num_frames < 2:
        raise ValueError(f"--frames must be >= 2 (the class is the motion), got {num_frames}")
    source = "given" if garments is not None else "fashion-mnist"
    if garments is None:
        from ..fashion_mnist import load_fashion_mnist

        garments = {"train": load_fashion_mnist("train", fashion_mnist)[0],
                    "val": load_fashion_mnist("test", fashion_mnist)[0]}
    root = Path(out)
    start = time.perf_counter()
    counts, used_codec = {}, None
    jobs = [(split, j) for split, n in (("train", per_class_train), ("val", per_class_val)) for j in range(n)]
    with tqdm(total=len(jobs) * len(MOTION_CLASSES), desc="make-videos", unit="video", disable=not progress) as bar:
        for split, j in jobs:
            pool = garments[split]
            p = sample_params(_video_rng(seed, split, j), size, len(pool))
            for motion in MOTION_CLASSES:
                frames = render_clip(pool[p.garment], p, motion, num_frames, size)
                used_codec = write_video(root / split / motion / f"{j:05d}.mp4", frames, fps, codec=codec)
                bar.update()
            counts[split] = counts.get(split, 0) + len(MOTION_CLASSES)
    for split, n in (("train", per_class_train), ("val", per_class_val)):
        lines = [f"{split}/{m}/{j:05d}.mp4 {k}" for k, m in enumerate(MOTION_CLASSES) for j in range(n)]
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
        counts.setdefault(split, 0)
    (root / "classes.txt").write_text("\n".join(MOTION_CLASSES) + "\n")
    meta = {
        "classes": MOTION_CLASSES, "hflip_swaps": HFLIP_SWAPS, "videos": counts,
        "per_class": {"train": per_class_train, "val": per_class_val}, "num_frames": num_frames, "size": size,
        "fps": fps, "seed": seed, "codec": used_codec, "garments": source,
        "seconds": round(time.perf_counter() - start, 2),
    }
    meta["bytes"] = _dir_size(root)
    (root / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta

