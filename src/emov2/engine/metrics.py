"""One metrics log for every task (``metrics.jsonl``) and the ``curves.png`` drawn from it.

Schema: one JSON object per line with ``kind`` ("train" or "eval"), ``step`` (optimizer steps done), ``epoch``
(fractional), ``time`` (seconds since the run started). Train rows add ``lr`` and the task's losses (mean over
the logging interval) and ``samples_per_s``; eval rows add ``weights`` ("model" or "ema") and the task's metrics.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["MetricsLog", "plot_curves", "read_metrics"]


class MetricsLog:
    """Appends rows to ``path``; on resume keeps only the rows up to the resumed step."""

    def __init__(self, path: str | os.PathLike, enabled: bool = True, resume_step: int | None = None) -> None:
        self.path = Path(path)
        self.enabled = enabled
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keep = [r for r in read_metrics(self.path) if r.get("step", 0) <= resume_step] if resume_step else []
        self.path.write_text("".join(json.dumps(r) + "\n" for r in keep))

    def log(self, **row) -> None:
        if self.enabled:
            with self.path.open("a") as f:
                f.write(json.dumps(row) + "\n")


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``metrics.jsonl`` (a line cut by a kill is skipped)."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def plot_curves(path: str | os.PathLike, out_png: str | os.PathLike, metrics: list[str] | None = None,
                title: str = "") -> bool:
    """Training loss (left) and evaluation metrics (right, model and EMA) against steps; False if no rows."""
    rows = read_metrics(path)
    train = [r for r in rows if r.get("kind") == "train" and "loss" in r]
    evals = [r for r in rows if r.get("kind") == "eval"]
    if not train and not evals:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if metrics is None:
        skip = {"kind", "step", "epoch", "time", "weights"}
        metrics = sorted({k for r in evals for k, v in r.items() if k not in skip and isinstance(v, int | float)})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax_l, ax_m = axes
    if train:
        ax_l.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss")
    ax_l.set(xlabel="step", ylabel="loss", title="training loss")
    for weights, style in (("model", "o-"), ("ema", "s--")):
        rows_w = [r for r in evals if r.get("weights", "model") == weights]
        for m in metrics:
            pts = [(r["step"], r[m]) for r in rows_w if isinstance(r.get(m), int | float)]
            if pts:
                ax_m.plot(*zip(*pts, strict=True), style, label=f"{m} ({weights})", markersize=4)
    ax_m.set(xlabel="step", title="evaluation")
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return True
