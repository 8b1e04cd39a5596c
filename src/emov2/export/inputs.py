"""Inputs for parity checks: random tensors and real photos (scikit-image's CC0 / public-domain samples); for
video models (5-D input) random clips and a clip of the photos sliding sideways."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "calibration_images", "clip_shape", "parity_clips", "parity_inputs",
           "random_clips", "real_images", "random_images"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PHOTOS = ("astronaut", "chelsea", "coffee")


def random_images(batch: int, img_size: int | tuple[int, int], seed: int = 0) -> torch.Tensor:
    h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
    return torch.randn(batch, 3, h, w, generator=torch.Generator().manual_seed(seed))


def real_images(img_size: int | tuple[int, int]) -> torch.Tensor:
    """astronaut, chelsea and coffee: resized (bilinear, antialiased) and ImageNet-normalised, (3, 3, H, W)."""
    try:
        from skimage import data
    except ImportError as e:
        raise ImportError("real-image checks need scikit-image (pip install 'emov2[demo]')") from e
    size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
    out = []
    for name in PHOTOS:
        img = torch.from_numpy(np.ascontiguousarray(getattr(data, name)())).permute(2, 0, 1).float()[None] / 255
        img = F.interpolate(img, size=size, mode="bilinear", antialias=True, align_corners=False)
        out.append(img)
    x = torch.cat(out)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def calibration_images(img_size: int, n: int = 16, seed: int = 0) -> torch.Tensor:
    """``n`` real images for INT8 calibration and parity, (n, 3, img_size, img_size): random ``img_size`` crops
    (and horizontal flips) of the three photos resized to ``img_size + 32``, ImageNet-normalised."""
    photos = real_images(img_size + 32)
    g = torch.Generator().manual_seed(seed)
    out = []
    for k in range(n):
        i, j = (int(v) for v in torch.randint(0, 33, (2,), generator=g))
        crop = photos[k % len(photos), :, i:i + img_size, j:j + img_size]
        out.append(crop.flip(-1) if torch.rand(1, generator=g) < 0.5 else crop)
    return torch.stack(out)


def parity_inputs(img_size: int | tuple[int, int], batch: int = 2, real: bool = True) -> dict[str, torch.Tensor]:
    """Named input batches: ``random`` (``batch`` images) and, if scikit-image is present, ``real`` (3 photos)."""
    inputs = {"random": random_images(batch, img_size)}
    if real:
        try:
            inputs["real"] = real_images(img_size)
        except ImportError:
            pass
    return inputs


def clip_shape(model) -> tuple[int, int] | None:
    """(channels, frames) of a video model's (B, C, T, H, W) input, from its ``pretrained_cfg`` (``num_frames``,
    as V-EMOv2 and the frame-averaged baseline record it); None for image models."""
    cfg = getattr(model, "pretrained_cfg", None) or {}
    if not cfg.get("num_frames"):
        return None
    return int((cfg.get("input_size") or (3,))[0]), int(cfg["num_frames"])


def random_clips(batch: int, channels: int, frames: int, img_size: int | tuple[int, int], seed: int = 0
                 ) -> torch.Tensor:
    """(batch, C, T, H, W) standard-normal clips."""
    h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
    return torch.randn(batch, channels, frames, h, w, generator=torch.Generator().manual_seed(seed))


def parity_clips(channels: int, frames: int, img_size: int | tuple[int, int], batch: int = 2,
                 real: bool = True) -> dict[str, torch.Tensor]:
    """Named clip batches: ``random`` and, if scikit-image is present, ``real`` (each photo panning sideways,
    a few pixels per frame; 3-channel models only)."""
    inputs = {"random": random_clips(batch, channels, frames, img_size)}
    if real and channels == 3:
        h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
        try:
            wide = real_images((h, w + 4 * frames))  # (3, 3, H, W + 4T)
        except ImportError:
            return inputs
        inputs["real"] = torch.stack([wide[..., 4 * t:4 * t + w] for t in range(frames)], dim=2)
    return inputs
