"""Colour-coded segmentation, and vessel maps, drawn over the image (PNG)."""

from __future__ import annotations

import os

import torch
from PIL import Image

__all__ = ["draw_segmentation", "draw_vessels", "palette"]


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


def draw_vessels(image: torch.Tensor, pred: torch.Tensor, path: str | os.PathLike, label: torch.Tensor | None = None,
                 alpha: float = 0.6) -> None:
    """Save the vessel map over the image as a PNG: ``image`` ``(3, H, W)`` float 0..1 with predicted vessels
    (``pred`` ``(H, W)``, 1 = vessel) in cyan; with ``label`` a second panel compares them: agreeing vessel pixels
    white, predicted-only red, missed (labelled-only) blue; label 255 (ignored) is left as the image."""
    img = image.clamp(0, 1) * 255
    vessel = (pred == 1)[None]
    cyan = torch.tensor([0.0, 255.0, 255.0]).view(3, 1, 1)
    panels = [torch.where(vessel, (1 - alpha) * img + alpha * cyan, img)]
    if label is not None:
        if label.shape != pred.shape:
            raise ValueError(f"label shape {tuple(label.shape)} != prediction shape {tuple(pred.shape)}")
        truth, known = label == 1, label != 255
        cmp = img * 0.5
        for mask, colour in (((pred == 1) & truth, (255, 255, 255)), ((pred == 1) & ~truth & known, (255, 40, 40)),
                             ((pred != 1) & truth, (40, 90, 255))):
            cmp = torch.where(mask[None], torch.tensor(colour, dtype=torch.float32).view(3, 1, 1), cmp)
        panels.append(cmp)
    out = torch.cat(panels, dim=2).round().to(torch.uint8)
    Image.fromarray(out.permute(1, 2, 0).numpy()).save(path)
