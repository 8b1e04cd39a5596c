"""``confusion.png``: the row-normalised confusion matrix of the kept weights (at most 20 classes)."""

from __future__ import annotations

import os

import torch

__all__ = ["plot_confusion"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
