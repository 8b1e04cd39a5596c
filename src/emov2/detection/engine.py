"""Detection training and evaluation on top of :func:`emov2.utils.loop.train_loop`."""

from __future__ import annotations

import torch
from torch import nn

from .data import CocoDetection
from .evaluate import coco_metrics, predict_dataset

__all__ = ["detection_loss", "evaluate_detector"]


def detection_loss(model: nn.Module, batch) -> dict[str, torch.Tensor]:
    """Sum of the torchvision loss dict (``"loss"``) plus its parts, for one batch of ``(images, targets)``."""
    images, targets = batch
    targets = [{k: v for k, v in t.items() if k != "image_id"} for t in targets]
    parts = model(list(images), targets)
    return {"loss": sum(parts.values()), **{k: v.detach() for k, v in parts.items()}}


def evaluate_detector(model: nn.Module, dataset: CocoDetection, batch_size: int = 8, masks: bool = False,
                      limit: int | None = None) -> dict[str, float]:
    """Box (and mask) COCO metrics over the first ``limit`` images (all by default)."""
    results = predict_dataset(model, dataset, batch_size, limit)
    ids = [r[0] for r in dataset.records][: limit or len(dataset)]
    return coco_metrics(dataset, results, ("bbox", "segm") if masks else ("bbox",), ids)
