"""Clip transforms of the V-EMOv2 recipe on torchvision.transforms.v2 (a clip is one ``tv_tensors.Video``
(T, C, H, W), so every random parameter is drawn once per clip and applied to all of its frames).

Input: uint8 frames (T, H, W, 3) as decoded. Output: float32 (C, T, H, W) (one view) or (V, C, T, H, W)
(``V`` crops), normalised with mean 114.75 and std 57.375 on the 0-255 scale (all channels), the model's
NCTHW layout once batched.

- train: short side 192 -> RandAugment (m7, n4) -> RandomResizedCrop (area 0.08-1, ratio 3/4-4/3) to 160x160
  -> horizontal flip 0.5;
- val: short side 160 -> centre crop 160;
- test: short side 160 -> three crops 160 along the long side (left/centre/right or top/centre/bottom).

RandAugment follows pytorchvideo's ``RandAugment(magnitude=7, num_layers=4)`` that mmaction2's
``PytorchVideoWrapper`` calls: 4 layers, each one op drawn uniformly and applied with probability 0.5, at
magnitude 7 on a 0-10 scale. Here each layer is torchvision's ``RandAugment(num_ops=1, magnitude=7,
num_magnitude_bins=11)`` inside ``RandomApply(p=0.5)``. Left as torchvision has them: ops are drawn with
replacement (pytorchvideo: without), the magnitude is fixed (pytorchvideo: Gaussian, std 0.5), torchvision's op
set (Identity instead of Invert) and ranges (posterize keeps 5 bits at m7, pytorchvideo 2), grey fill 128.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode, v2
from torchvision.transforms.v2 import functional as TF

__all__ = [
    "VIDEO_MEAN",
    "VIDEO_STD",
    "ThreeCrop",
    "ToModelInput",
    "ToVideo",
    "build_video_eval_transform",
    "build_video_train_transform",
    "clip_to_frames",
    "video_randaugment",
]

VIDEO_MEAN = (114.75, 114.75, 114.75)
VIDEO_STD = (57.375, 57.375, 57.375)


class ToVideo(nn.Module):
    """uint8 frames (T, H, W, 3) (tensor or array) -> ``tv_tensors.Video`` (T, 3, H, W) uint8."""

    def forward(self, frames) -> tv_tensors.Video:
        x = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames)
        if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != torch.uint8:
            raise ValueError(f"expected uint8 frames (T, H, W, 3), got {x.dtype} {tuple(x.shape)}")
        return tv_tensors.Video(x.permute(0, 3, 1, 2))


class ThreeCrop(nn.Module):
    """Three ``size`` crops along the long side of a (T, C, H, W) clip -> (3, T, C, size, size): left, centre,
    right (landscape) or top, centre, bottom (portrait). Resize the short side to ``size`` first; a longer short
    side is cropped at its centre."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        h, w = clip.shape[-2:]
        s = self.size
        if min(h, w) < s:
            raise ValueError(f"ThreeCrop({s}) needs a clip of at least {s}x{s}, got {w}x{h}")
        if w >= h:
            top, lefts = (h - s) // 2, [0, (w - s) // 2, w - s]
            boxes = [(top, x) for x in lefts]
        else:
            left, tops = (w - s) // 2, [0, (h - s) // 2, h - s]
            boxes = [(y, left) for y in tops]
        return torch.stack([TF.crop(clip, y, x, s, s).as_subclass(torch.Tensor) for y, x in boxes])

    def extra_repr(self) -> str:
        return f"size={self.size}"


class ToModelInput(nn.Module):
    """uint8 (..., T, C, H, W) -> float32 (..., C, T, H, W), ``(x - mean) / std`` per channel (0-255 scale)."""

    def __init__(self, mean: Sequence[float] = VIDEO_MEAN, std: Sequence[float] = VIDEO_STD) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), persistent=False)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        x = clip.as_subclass(torch.Tensor).to(torch.float32)
        return ((x - self.mean) / self.std).transpose(-4, -3).contiguous()


def clip_to_frames(clip: torch.Tensor, mean: Sequence[float] = VIDEO_MEAN,
                   std: Sequence[float] = VIDEO_STD) -> torch.Tensor:
    """Undo :class:`ToModelInput`: float (C, T, H, W) -> uint8 frames (T, H, W, 3) (for contact sheets)."""
    m = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1, 1)
    x = clip.detach().cpu().float() * s + m
    return x.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 3, 0).contiguous()


def video_randaugment(num_layers: int = 4, magnitude: int = 7, prob: float = 0.5, fill: int = 128) -> v2.Compose:
    """``num_layers`` x (one RandAugment op with probability ``prob``), magnitude on pytorchvideo's 0-10 scale."""
    if not 0 <= magnitude <= 10:
        raise ValueError(f"RandAugment magnitude is on a 0-10 scale, got {magnitude}")
    layer = [v2.RandAugment(num_ops=1, magnitude=magnitude, num_magnitude_bins=11,
                            interpolation=InterpolationMode.BILINEAR, fill=fill)]
    return v2.Compose([v2.RandomApply(layer, p=prob) for _ in range(num_layers)])


def build_video_train_transform(size: int = 160, short_side: int = 192, *, randaug_layers: int = 4,
                                randaug_magnitude: int = 7, scale: tuple[float, float] = (0.08, 1.0),
                                ratio: tuple[float, float] = (3 / 4, 4 / 3), hflip: float = 0.5,
                                mean: Sequence[float] = VIDEO_MEAN, std: Sequence[float] = VIDEO_STD) -> v2.Compose:
    """uint8 (T, H, W, 3) -> float (C, T, size, size), the log's train pipeline (``randaug_layers=0``: none)."""
    steps: list[nn.Module] = [ToVideo(), v2.Resize(short_side, antialias=True)]
    if randaug_layers:
        steps.append(video_randaugment(randaug_layers, randaug_magnitude))
    steps.append(v2.RandomResizedCrop(size, scale=scale, ratio=ratio, antialias=True))
    if hflip > 0:
        steps.append(v2.RandomHorizontalFlip(hflip))
    steps.append(ToModelInput(mean, std))
    return v2.Compose(steps)


def build_video_eval_transform(size: int = 160, short_side: int | None = None, *, crops: int = 1,
                               mean: Sequence[float] = VIDEO_MEAN, std: Sequence[float] = VIDEO_STD) -> v2.Compose:
    """uint8 (T, H, W, 3) -> float (C, T, size, size) (``crops=1``: centre) or (3, C, T, size, size) (``crops=3``)."""
    if crops not in (1, 3):
        raise ValueError(f"crops must be 1 (centre) or 3 (ThreeCrop), got {crops}")
    crop = v2.CenterCrop(size) if crops == 1 else ThreeCrop(size)
    return v2.Compose([ToVideo(), v2.Resize(short_side or size, antialias=True), crop, ToModelInput(mean, std)])
