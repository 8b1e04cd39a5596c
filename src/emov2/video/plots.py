"""Training curves of several video runs in one PNG (e.g. V-EMOv2 against the frame-averaged baseline)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..engine.metrics import read_metrics

__all__ = ["plot_runs"]


def _num_classes(run: Path) -> int | None:
    for name in ("best.json", "final.json"):
        if (run / name).is_file():
            return json.loads((run / name).read_text()).get("num_classes")
    return None


def plot_runs(runs: Sequence[str | os.PathLike], out_png: str | os.PathLike, labels: Sequence[str] | None = None,
              metric: str = "top1", title: str = "") -> Path:
    """Training loss (left) and validation ``metric`` (right, the model's weights) against optimizer steps, one
    line per run folder (each with its ``metrics.jsonl``); a dotted line marks chance (1 / classes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(labels) if labels else [Path(r).name for r in runs]
    if len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels for {len(runs)} runs")
    fig, (ax_l, ax_m) = plt.subplots(1, 2, figsize=(10, 3.6))
    chance = None
    for run, label in zip(runs, labels, strict=True):
        run = Path(run)
        rows = read_metrics(run / "metrics.jsonl")
        if not rows:
            raise FileNotFoundError(f"no metrics in {run / 'metrics.jsonl'}")
        train = [r for r in rows if r.get("kind") == "train" and "loss" in r]
        evals = [r for r in rows if r.get("kind") == "eval" and r.get("weights", "model") == "model" and metric in r]
        (line,) = ax_l.plot([r["step"] for r in train], [r["loss"] for r in train], label=label, alpha=0.8)
        ax_m.plot([r["step"] for r in evals], [r[metric] for r in evals], "o-", color=line.get_color(), label=label,
                  markersize=4)
        chance = chance or _num_classes(run)
    if chance:
        ax_m.axhline(100 / chance, color="grey", linestyle=":", label=f"chance ({100 / chance:.1f}%)")
    ax_l.set(xlabel="step", ylabel="loss", title="training loss")
    ax_m.set(xlabel="step", ylabel=f"val {metric} (%)", title=f"validation {metric}")
    for ax in (ax_l, ax_m):
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
