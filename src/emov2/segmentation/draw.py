"""Colour-coded segmentation drawn over the image (PNG)."""

from __future__ import annotations

import os

import torch
from PIL import Image

__all__ = ["draw_segmentation", "palette"]


def palette(num_classes: int) -> torch.Tensor:
    """``(num_classes, 3)`` uint8 colours; class 0 is black-ish so a background class stays discreet."""
    g = torch.Generator().manual_seed(3)
    cols = torch.randint(40, 256, (num_classes, 3), generator=g, dtype=torch.int64)
    cols[0] = torch.tensor([20, 20, 20])
    return cols.to(torch.uint8)


def draw_segmentation(image: torch.Tensor, pred: torch.Tensor, num_classes: int, path: str | os.PathLike,
                      alpha: float = 0.5) -> None:
    """Save ``image`` ``(3, H, W)`` float 0..1 blended with the colours of ``pred`` ``(H, W)``, side by side
    with the plain colour map."""
    img = image.clamp(0, 1) * 255
    colours = palette(num_classes)[pred.clamp(0, num_classes - 1)].permute(2, 0, 1).float()
    blend = (1 - alpha) * img + alpha * colours
    out = torch.cat([blend, colours], dim=2).round().to(torch.uint8)
    Image.fromarray(out.permute(1, 2, 0).numpy()).save(path)
