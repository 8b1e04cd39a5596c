"""Training curves from a metrics JSON-lines file (matplotlib, Agg backend)."""

from __future__ import annotations

import os

from .metrics_log import read_jsonl

__all__ = ["plot_curves"]


def plot_curves(jsonl: str | os.PathLike, out_png: str | os.PathLike, loss_key: str = "loss",
                metric_key: str | None = None) -> None:
    """Plot ``loss_key`` of the ``train`` rows and ``metric_key`` of the ``eval`` rows against ``iter``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_jsonl(jsonl)
    tr = [r for r in rows if r.get("kind") == "train" and loss_key in r]
    ev = [r for r in rows if r.get("kind") == "eval" and metric_key and metric_key in r]
    fig, ax = plt.subplots(1, 2 if ev else 1, figsize=(10 if ev else 5, 3.5), squeeze=False)
    ax[0][0].plot([r["iter"] for r in tr], [r[loss_key] for r in tr])
    ax[0][0].set(xlabel="iteration", ylabel=loss_key, title="training loss")
    if ev:
        ax[0][1].plot([r["iter"] for r in ev], [r[metric_key] for r in ev], marker="o")
        ax[0][1].set(xlabel="iteration", ylabel=metric_key, title="validation")
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
