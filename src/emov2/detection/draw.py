"""Draw detections (boxes, labels, scores and instance masks) on an image and save it as PNG."""

from __future__ import annotations

import os

import torch
from PIL import Image
from torchvision.utils import draw_bounding_boxes, draw_segmentation_masks

__all__ = ["draw_detections"]

_PALETTE = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c",
            "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3"]


def draw_detections(image: torch.Tensor, output: dict, class_names: list[str], path: str | os.PathLike,
                    score_thresh: float = 0.3) -> int:
    """Save ``image`` ``(3, H, W)`` float 0..1 with the detections above ``score_thresh``; returns their count."""
    img = (image.clamp(0, 1) * 255).to(torch.uint8)
    keep = output["scores"] >= score_thresh
    labels = output["labels"][keep].tolist()
    colours = [_PALETTE[(label - 1) % len(_PALETTE)] for label in labels]
    if "masks" in output and keep.any():
        img = draw_segmentation_masks(img, output["masks"][keep, 0] > 0.5, alpha=0.45, colors=colours)
    if keep.any():
        names = [f"{class_names[label - 1] if 0 < label <= len(class_names) else label} {s:.2f}"
                 for label, s in zip(labels, output["scores"][keep].tolist(), strict=False)]
        img = draw_bounding_boxes(img, output["boxes"][keep], names, colors=colours, width=2)
    Image.fromarray(img.permute(1, 2, 0).numpy()).save(path)
    return int(keep.sum())
