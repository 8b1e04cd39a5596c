"""Curves of the short exploration runs (FID-like score and class accuracy against training steps, cfg 1 and 3)
from runs/explore/*/eval_step_*_cfg*.json; writes docs/generation/explore_curves.png.

    python docs/generation/plot_explore.py
"""
import glob
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RUNS = {
    "E5_demo_t4_v_cos_plain": ("D-EMOv2, v-MSE", "tab:red", "-"),
    "E4_dit_t4_v_cos_plain": ("DiT, v-MSE", "tab:blue", "-"),
    "E3_demo_t4_v_cos_snr5": ("D-EMOv2, v + Min-SNR-5", "tab:red", ":"),
    "E2_dit_t4_v_cos_snr5": ("DiT, v + Min-SNR-5", "tab:blue", ":"),
}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for run, (label, color, style) in RUNS.items():
    for cfg, marker in (("1", "o"), ("3", "s")):
        points = []
        for path in glob.glob(f"runs/explore/{run}/eval_step_*_cfg{cfg}.json"):
            step = int(re.search(r"step_(\d+)", path).group(1))
            r = json.load(open(path))
            points.append((step, r["fid"], 100 * r["class_accuracy"]))
        if not points:
            continue
        steps, fid, acc = zip(*sorted(points), strict=True)
        kw = dict(color=color, linestyle=style, marker=marker, alpha=1.0 if cfg == "3" else 0.55)
        axes[0].plot(steps, fid, label=f"{label}, cfg {cfg}", **kw)
        axes[1].plot(steps, acc, **kw)
axes[0].set_yscale("log")
axes[0].set_ylabel("FID-like (emov2-classifier) ↓")
axes[1].set_ylabel("class accuracy of samples (%) ↑")
axes[1].axhline(90.4, color="grey", linewidth=0.8)
axes[1].text(1500, 92, "real train images 90.4%", color="grey", fontsize=8)
axes[1].set_ylim(0, 100)
for ax in axes:
    ax.set_xlabel("training step (batch 64)")
    ax.grid(alpha=0.3)
axes[0].legend(fontsize=7)
fig.suptitle("Fashion-MNIST 32 px, width 96 / depth 4 / patch 4; 500 EMA samples, DPM-Solver++ 20 steps", fontsize=9)
fig.tight_layout()
fig.savefig("docs/generation/explore_curves.png", dpi=100)
print("wrote docs/generation/explore_curves.png")
