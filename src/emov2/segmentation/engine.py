"""Segmentation loss and evaluation (task functions for a training loop: no loop here)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .metrics import ConfusionMatrix
from .slide import slide_logits
from .transforms import SegEval

__all__ = ["VESSEL_CLASSES", "evaluate_segmenter", "evaluate_vessels", "predict_logits", "predict_vessel_map",
           "segmentation_loss"]

VESSEL_CLASSES = ("background", "vessel")


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
def predict_logits(model: nn.Module, image: torch.Tensor, out_size: tuple[int, int],
                   slide: tuple[int, int] | None = None) -> torch.Tensor:
    """``(3, h, w)`` normalised image -> ``(K, H, W)`` logits resized (bilinear) to ``out_size``: one forward of
    the whole image, or sliding windows ``slide = (crop, stride)``."""
    x = image[None]
    logits = model(x)["out"] if slide is None else slide_logits(model, x, *slide)
    if tuple(logits.shape[2:]) != tuple(out_size):
        logits = F.interpolate(logits, size=out_size, mode="bilinear", align_corners=False)
    return logits[0]


@torch.no_grad()
def evaluate_segmenter(model: nn.Module, dataset, limit: int | None = None, ignore_index: int = 255, *,
                       slide: tuple[int, int] | None = None, metrics: tuple[str, ...] = ("mIoU",),
                       class_names: list[str] | tuple[str, ...] | None = None, progress: bool = False) -> dict:
    """``aAcc`` / ``metrics`` (mIoU, mDice) / ``mAcc`` (and per class with ``class_names``) over the first
    ``limit`` items of a dataset giving ``(normalised image, full-resolution label)``; logits are predicted at
    the image's size (whole, or sliding windows ``slide = (crop, stride)``) and resized to the label's."""
    was_training = model.training
    model.eval()
    cm = ConfusionMatrix(dataset.num_classes, ignore_index)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    for i in tqdm(range(n), desc="eval", disable=not progress, leave=False):
        image, label = dataset[i]
        pred = predict_logits(model, image, tuple(label.shape), slide).argmax(0)
        cm.update(pred, label)
    model.train(was_training)
    return cm.compute(metrics, None if class_names is None else list(class_names))


def evaluate_vessels(model: nn.Module, dataset, crop: int = 256, stride: int = 170, limit: int | None = None,
                     progress: bool = False) -> dict:
    """HRF-style vessel evaluation (paper §3.4): sliding windows ``crop``/``stride``; ``mDice`` (primary), ``mIoU``,
    ``aAcc``, ``mAcc`` and ``Dice/IoU/Acc.background|vessel``, in %."""
    return evaluate_segmenter(model, dataset, limit, slide=(crop, stride), metrics=("mDice", "mIoU"),
                              class_names=VESSEL_CLASSES, progress=progress)


@torch.no_grad()
def predict_vessel_map(model: nn.Module, image: torch.Tensor, crop: int = 256, stride: int = 170,
                       scale: tuple[int, int] | None = None) -> torch.Tensor:
    """``(3, H, W)`` float 0..1 photo -> ``(H, W)`` int64 class map (1 = vessel): keep-ratio resize to ``scale``
    (default: none), ImageNet normalisation, sliding windows, logits resized back to ``H x W``, argmax. Draw it
    with :func:`emov2.segmentation.draw.draw_vessels`."""
    was_training = model.training
    model.eval()
    x, _ = SegEval(scale if scale is not None else tuple(image.shape[1:][::-1]))(image, None)
    pred = predict_logits(model, x, tuple(image.shape[1:]), slide=(crop, stride)).argmax(0)
    model.train(was_training)
    return pred
