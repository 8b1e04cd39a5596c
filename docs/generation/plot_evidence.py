"""Curves of the evidence runs: FID-like score and sample class accuracy against training steps for each guidance
scale, both models in one figure, from their metrics.jsonl (the engine's evaluation rows), with the real-image
ceiling (`gen eval --npz` of real train images, JSON written with --output).

    python docs/generation/plot_evidence.py runs/gen/d_emov2_fm runs/gen/dit_fm runs/gen/real_ceiling.json \
        docs/generation/evidence_curves.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from emov2.engine.metrics import read_metrics  # noqa: E402


def evals(run: Path) -> list[dict]:
    return [r for r in read_metrics(run / "metrics.jsonl") if r["kind"] == "eval"]


def main(a: str, b: str, ceiling: str, out: str) -> None:
    real = json.loads(Path(ceiling).read_text())
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    styles = {"1": "-", "2": "--", "3": ":"}
    for run, colour in ((Path(a), "tab:blue"), (Path(b), "tab:orange")):
        rows = evals(run)
        steps = [r["step"] for r in rows]
        for cfg, ls in styles.items():
            suffix = "" if cfg == "1" else f"_cfg{cfg}"
            if f"fid{suffix}" not in rows[0]:
                continue
            label = f"{run.name}, cfg {cfg}"
            axes[0].plot(steps, [r[f"fid{suffix}"] for r in rows], ls, color=colour, marker="o", label=label)
            axes[1].plot(steps, [r[f"class_acc{suffix}"] for r in rows], ls, color=colour, marker="o", label=label)
    axes[0].axhline(real["fid"], color="grey", lw=1, label=f"real train images ({real['fid']:.2f})")
    axes[1].axhline(100 * real["class_accuracy"], color="grey", lw=1,
                    label=f"real train images ({100 * real['class_accuracy']:.1f} %)")
    axes[0].set(xlabel="training step", ylabel="FID-like (emov2_1m classifier features)", yscale="log",
                title="FID-like score (lower is better)")
    axes[1].set(xlabel="training step", ylabel="class accuracy of the samples (%)", title="sample class accuracy")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("D-EMOv2 vs DiT on Fashion-MNIST, equal steps (500 samples, DPM-Solver++ 20 steps, EMA weights)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
