"""``create_detector``: one entry point for the three detectors of the paper."""

from __future__ import annotations

import os

from torch import nn

from .backbone import EMOv2Features
from .mask_rcnn import build_maskrcnn
from .retinanet import build_retinanet
from .ssdlite import build_ssdlite

__all__ = ["DETECTORS", "create_detector"]

# arch -> (backbone out_indices, frozen_stages, norm_eval) as in the paper's configs (§3.2).
DETECTORS: dict[str, tuple[tuple[int, ...], int, bool]] = {
    "ssdlite": ((3, 4), -1, True),
    "retinanet": ((2, 3, 4), 1, True),
    "maskrcnn": ((1, 2, 3, 4), 1, True),
}


def create_detector(
    arch: str,
    backbone: str = "emov2_5m",
    num_classes: int = 80,
    *,
    backbone_checkpoint: str | os.PathLike | None = None,
    window_size: int = 10,
    frozen_stages: int | None = None,
    norm_eval: bool | None = None,
    drop_path_rate: float = 0.0,
    **kwargs,
) -> nn.Module:
    """Build a torchvision detector on an EMOv2 backbone.

    Args:
        arch: ``ssdlite``, ``retinanet`` or ``maskrcnn``.
        backbone: EMOv2 variant name (``emov2_1m`` ... ``emov2_20m``).
        num_classes: object classes *without* background. Targets use labels ``1..num_classes``
            (torchvision's convention, 0 is background), so the torchvision model gets ``num_classes + 1``.
        backbone_checkpoint: classification weights (ours or official) for the backbone.
        window_size, frozen_stages, norm_eval, drop_path_rate: backbone options; ``None`` takes the paper's
            value for the arch (SSDLite: -1 / True; RetinaNet and Mask R-CNN: 1 / True).
        **kwargs: passed to the torchvision model (``size`` for SSDLite, 320 or 512; ``min_size``/``max_size``,
            ``score_thresh``, ... for the others).

    Returns:
        The torchvision model: in training ``model(images, targets)`` gives a loss dict, in eval
        ``model(images)`` a list of ``{"boxes", "labels", "scores"[, "masks"]}``.
    """
    if arch not in DETECTORS:
        raise ValueError(f"unknown detector {arch!r}; choose from {', '.join(DETECTORS)}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    out_indices, fs, ne = DETECTORS[arch]
    features = EMOv2Features(
        backbone, out_indices, window_size=window_size, frozen_stages=fs if frozen_stages is None else frozen_stages,
        norm_eval=ne if norm_eval is None else norm_eval, checkpoint=backbone_checkpoint,
        drop_path_rate=drop_path_rate,
    )
    build = {"ssdlite": build_ssdlite, "retinanet": build_retinanet, "maskrcnn": build_maskrcnn}[arch]
    model = build(features, num_classes + 1, **kwargs)
    model.emov2_config = dict(arch=arch, backbone=backbone, num_classes=num_classes, window_size=window_size)
    return model
