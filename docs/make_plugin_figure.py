"""Curves of the plug-in comparison in docs/classification.md from two `emov2 train` runs' metrics.jsonl.

usage: python docs/make_plugin_figure.py OUT.png NAME=RUN_DIR [NAME=RUN_DIR ...]
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(out: str, *specs: str) -> None:
    fig, (acc, loss) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, run in (s.split("=", 1) for s in specs):
        rows = [json.loads(line) for line in (Path(run) / "metrics.jsonl").read_text().splitlines()]
        ev = [r for r in rows if r["kind"] == "eval"]
        tr = [r for r in rows if r["kind"] == "train"]
        acc.plot([r["step"] for r in ev], [r["top1"] for r in ev], "o-", label=name)
        loss.plot([r["step"] for r in tr], [r["loss"] for r in tr], label=name)
    for ax, title in ((acc, "validation top-1 (%)"), (loss, "training loss")):
        ax.set_title(title)
        ax.set_xlabel("step (64 images)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Fashion-MNIST, 32 px, from scratch, same recipe (plugin_fashion_mnist)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
