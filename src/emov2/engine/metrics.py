"""One metrics log for every task (``metrics.jsonl``), the ``curves.png`` drawn from it, and several runs' curves in
one figure.

Schema: one JSON object per line with ``kind`` ("train" or "eval"), ``step`` (optimizer steps done), ``epoch``
(fractional), ``time`` (seconds since the run started). Train rows add ``lr`` and the task's losses (mean over
the logging interval) and ``samples_per_s``; eval rows add ``weights`` ("model" or "ema") and the task's metrics.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["MetricsLog", "plot_curves", "plot_runs", "read_metrics"]


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


def _num_classes(run: Path) -> int | None:
    for name in ("best.json", "final.json"):
        if (run / name).is_file():
            return json.loads((run / name).read_text()).get("num_classes")
    return None


def plot_runs(runs: Sequence[str | os.PathLike], out_png: str | os.PathLike, labels: Sequence[str] | None = None,
              metrics: str | Sequence[str] = "top1", title: str = "", chance: bool = True) -> Path:
    """Several runs in one PNG (e.g. a model against its baseline): training loss (left), then one panel per
    validation metric (the model's weights) against optimizer steps, one line per run folder (each with its
    ``metrics.jsonl``); with ``chance``, a dotted line at 1 / classes on the metric panels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    labels = list(labels) if labels else [Path(r).name for r in runs]
    if len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels for {len(runs)} runs")
    fig, (ax_l, *ax_ms) = plt.subplots(1, 1 + len(metrics), figsize=(5 * (1 + len(metrics)), 3.6))
    classes = None
    for run, label in zip(runs, labels, strict=True):
        run = Path(run)
        rows = read_metrics(run / "metrics.jsonl")
        if not rows:
            raise FileNotFoundError(f"no metrics in {run / 'metrics.jsonl'}")
        train = [r for r in rows if r.get("kind") == "train" and "loss" in r]
        (line,) = ax_l.plot([r["step"] for r in train], [r["loss"] for r in train], label=label, alpha=0.8)
        for ax, metric in zip(ax_ms, metrics, strict=True):
            evals = [r for r in rows if r.get("kind") == "eval" and r.get("weights", "model") == "model"
                     and metric in r]
            ax.plot([r["step"] for r in evals], [r[metric] for r in evals], "o-", color=line.get_color(),
                    label=label, markersize=4)
        classes = classes or _num_classes(run)
    ax_l.set(xlabel="step", ylabel="loss", title="training loss")
    for ax, metric in zip(ax_ms, metrics, strict=True):
        if chance and classes:
            ax.axhline(100 / classes, color="grey", linestyle=":", label=f"chance ({100 / classes:.1f}%)")
        ax.set(xlabel="step", ylabel=f"val {metric} (%)", title=f"validation {metric}")
    for ax in (ax_l, *ax_ms):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
