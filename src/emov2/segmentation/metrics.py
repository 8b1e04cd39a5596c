"""Confusion-matrix segmentation metrics: mIoU, aAcc, mAcc (mmseg's definitions, in %)."""

from __future__ import annotations

import torch

__all__ = ["ConfusionMatrix"]


class ConfusionMatrix:
    """Accumulates a ``K x K`` matrix (rows: ground truth, columns: prediction), skipping ``ignore_index``.

    ``compute()`` gives ``aAcc`` (correct / labelled pixels), ``mAcc`` (mean per-class recall) and ``mIoU``
    (mean of ``TP / (TP + FP + FN)``), each averaged over the classes that occur in the ground truth
    (classes absent from the ground truth are NaN per class and left out of the means, as mmseg does).
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.mat = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """``pred`` and ``target``: integer tensors of the same shape (any), values ``0..K-1`` or ignore."""
        if pred.shape != target.shape:
            raise ValueError(f"prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
        keep = target != self.ignore_index
        t, p = target[keep].long(), pred[keep].long()
        if t.numel() and (t.min() < 0 or t.max() >= self.num_classes):
            raise ValueError(f"target labels must be in 0..{self.num_classes - 1} or {self.ignore_index}")
        k = self.num_classes
        self.mat += torch.bincount(t * k + p, minlength=k * k).reshape(k, k).cpu()

    def per_class(self) -> dict[str, torch.Tensor]:
        m = self.mat.double()
        tp = m.diag()
        gt, pr = m.sum(1), m.sum(0)
        nan = torch.full_like(tp, float("nan"))
        iou = torch.where(gt > 0, tp / (gt + pr - tp).clamp(min=1), nan)
        acc = torch.where(gt > 0, tp / gt.clamp(min=1), nan)
        return {"IoU": iou, "Acc": acc}

    def compute(self) -> dict[str, float]:
        pc = self.per_class()
        total = self.mat.sum().item()
        return {
            "mIoU": round(100 * float(pc["IoU"].nanmean()), 2) if total else 0.0,
            "aAcc": round(100 * self.mat.diag().sum().item() / total, 2) if total else 0.0,
            "mAcc": round(100 * float(pc["Acc"].nanmean()), 2) if total else 0.0,
        }
