"""Confusion-matrix segmentation metrics: mIoU, mDice, aAcc, mAcc and per-class values (mmseg's ``IoUMetric``
definitions, in %)."""

from __future__ import annotations

import torch

__all__ = ["ConfusionMatrix"]

_MEAN_METRICS = ("mIoU", "mDice")


class ConfusionMatrix:
    """Accumulates a ``K x K`` matrix (rows: ground truth, columns: prediction), skipping ``ignore_index``.

    Per class, with ``TP`` the diagonal, ``GT`` the row sums and ``P`` the column sums (mmseg's ``IoUMetric``):
    ``IoU = TP / (GT + P - TP)``, ``Dice = 2 TP / (GT + P)``, ``Acc = TP / GT``. A ratio whose denominator is 0
    is NaN and left out of its mean: a class absent from both ground truth and prediction counts for nothing,
    one that is only predicted counts with IoU = Dice = 0. ``aAcc`` is correct / labelled pixels.
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
        if p.numel() and (p.min() < 0 or p.max() >= self.num_classes):
            raise ValueError(f"predicted labels must be in 0..{self.num_classes - 1}")
        k = self.num_classes
        self.mat += torch.bincount(t * k + p, minlength=k * k).reshape(k, k).cpu()

    def per_class(self) -> dict[str, torch.Tensor]:
        """``{"IoU", "Dice", "Acc"}``: ``(K,)`` float64 fractions (not %), NaN where undefined."""
        m = self.mat.double()
        tp = m.diag()
        gt, pr = m.sum(1), m.sum(0)
        return {"IoU": tp / (gt + pr - tp), "Dice": 2 * tp / (gt + pr), "Acc": tp / gt}  # 0 / 0 -> NaN

    def compute(self, metrics: tuple[str, ...] = ("mIoU",), class_names: list[str] | None = None) -> dict[str, float]:
        """``aAcc``, the requested means (``mIoU`` and/or ``mDice``) and ``mAcc``, in % rounded to 2 decimals;
        with ``class_names`` also ``"IoU.<name>"`` / ``"Dice.<name>"`` / ``"Acc.<name>"`` per class (NaN where
        undefined). Nothing accumulated: every value is 0."""
        unknown = set(metrics) - set(_MEAN_METRICS)
        if unknown:
            raise ValueError(f"unknown metrics {sorted(unknown)}; choose from {', '.join(_MEAN_METRICS)}")
        if class_names is not None and len(class_names) != self.num_classes:
            raise ValueError(f"{len(class_names)} class names for {self.num_classes} classes")
        pc = self.per_class()
        total = self.mat.sum().item()

        def pct(v: torch.Tensor) -> float:
            return round(100 * float(v), 2) if total else 0.0

        out = {"aAcc": pct(self.mat.diag().sum() / max(total, 1))}
        for name in metrics:
            out[name] = pct(pc[name[1:]].nanmean())
        out["mAcc"] = pct(pc["Acc"].nanmean())
        if class_names is not None:
            for key in [m[1:] for m in metrics] + ["Acc"]:
                out.update({f"{key}.{c}": pct(v) for c, v in zip(class_names, pc[key], strict=True)})
        return out
