"""Run figures: ``curves.png`` (loss and top-1 per epoch) and ``confusion.png`` (at most 20 classes)."""

from __future__ import annotations

import os

import torch

__all__ = ["plot_confusion", "plot_curves"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(records: list[dict], path: str | os.PathLike) -> None:
    """Train/val loss and val top-1 (model and EMA) against epoch, from ``metrics.jsonl`` records."""
    plt = _pyplot()
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(10, 4))
    ep = [r["epoch"] for r in records]
    ax_l.plot(ep, [r["train_loss"] for r in records], "o-", label="train")
    ev = [r for r in records if "val_loss" in r]
    if ev:
        ax_l.plot([r["epoch"] for r in ev], [r["val_loss"] for r in ev], "o-", label="val")
        ax_a.plot([r["epoch"] for r in ev], [r["val_top1"] for r in ev], "o-", label="model")
        if any("ema_top1" in r for r in ev):
            ax_a.plot([r["epoch"] for r in ev if "ema_top1" in r], [r["ema_top1"] for r in ev if "ema_top1" in r],
                      "s--", label="EMA")
    ax_l.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_a.set(xlabel="epoch", ylabel="top-1 (%)", title="validation top-1")
    for ax in (ax_l, ax_a):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(confusion: torch.Tensor, classes: list[str], path: str | os.PathLike, title: str = "") -> bool:
    """Row-normalised confusion matrix (rows: true class); returns False (and draws nothing) above 20 classes."""
    if len(classes) > 20:
        return False
    plt = _pyplot()
    cm = confusion.double()
    norm = cm / cm.sum(dim=1, keepdim=True).clamp(min=1)
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1 + 0.6 * n, 1 + 0.55 * n))
    ax.imshow(norm.numpy(), cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if cm[i, j] > 0:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), classes, rotation=45, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set(xlabel="predicted", ylabel="true", title=title or "confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
