"""Training/test augmentations per detector (paper §3.2), built from ``torchvision.transforms.v2``.

- SSDLite: Expand (zoom out 1-4x, mean fill; recipe key ``expand_ratio``), MinIoU random crop, horizontal flip,
  photometric distortion; the model's own transform then resizes to the fixed square input (keep_ratio False,
  as in mmdet).
- RetinaNet / Mask R-CNN: horizontal flip only; the model resizes (short side ``min_size``, long side
  at most ``max_size``).
Degenerate boxes produced by cropping are removed with ``SanitizeBoundingBoxes``.
"""

from __future__ import annotations

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

__all__ = ["detection_transforms"]


def detection_transforms(arch: str, train: bool, expand_ratio: float = 4.0):
    """The v2 transform pipeline for ``arch`` (``ssdlite``/``retinanet``/``maskrcnn``), or ``None`` at test.

    ``expand_ratio``: SSDLite's largest zoom-out factor (the paper's 4; 1 turns zoom-out off).
    """
    if not train:
        return None
    if arch == "ssdlite":
        if expand_ratio < 1:
            raise ValueError(f"expand_ratio must be >= 1, got {expand_ratio}")
        zoom = [v2.RandomZoomOut(fill={tv_tensors.Image: (0.485, 0.456, 0.406), "others": 0},
                                 side_range=(1.0, float(expand_ratio)), p=0.5)] if expand_ratio > 1 else []
        ops = [
            v2.RandomPhotometricDistort(p=0.5),
            *zoom,
            v2.RandomIoUCrop(),
            v2.RandomHorizontalFlip(0.5),
        ]
    else:
        ops = [v2.RandomHorizontalFlip(0.5)]
    return v2.Compose([*ops, v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes(min_size=1.0), v2.ToDtype(
        {tv_tensors.Image: torch.float32, "others": None}, scale=False)])
