"""Segmentation loss and evaluation for :func:`emov2.utils.loop.train_loop`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .metrics import ConfusionMatrix

__all__ = ["evaluate_segmenter", "segmentation_loss"]


def segmentation_loss(model: nn.Module, batch, aux_weight: float = 0.4, ignore_index: int = 255):
    """Cross-entropy of ``out`` (+ ``aux_weight`` x that of ``aux``) for ``(images (B,3,H,W), labels (B,H,W))``."""
    images, labels = batch
    out = model(images)
    loss_main = F.cross_entropy(out["out"], labels, ignore_index=ignore_index)
    losses = {"loss_decode": loss_main.detach()}
    loss = loss_main
    if "aux" in out and aux_weight:
        loss_aux = F.cross_entropy(out["aux"], labels, ignore_index=ignore_index)
        loss = loss + aux_weight * loss_aux
        losses["loss_aux"] = loss_aux.detach()
    return {"loss": loss, **losses}


@torch.no_grad()
def predict_logits(model: nn.Module, image: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """Whole-image inference: ``(3, h, w)`` normalised image -> ``(K, H, W)`` logits at ``out_size``."""
    logits = model(image[None])["out"]
    return F.interpolate(logits, size=out_size, mode="bilinear", align_corners=False)[0]


@torch.no_grad()
def evaluate_segmenter(model: nn.Module, dataset, limit: int | None = None, ignore_index: int = 255) -> dict:
    """mIoU / aAcc / mAcc over the first ``limit`` items of a dataset giving ``(image, full-res label)``."""
    model.eval()
    cm = ConfusionMatrix(dataset.num_classes, ignore_index)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    for i in range(n):
        image, label = dataset[i]
        pred = predict_logits(model, image, tuple(label.shape)).argmax(0)
        cm.update(pred, label)
    return cm.compute()
