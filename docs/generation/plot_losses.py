import json, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
for m, lab in (("d_emov2_t_4", "D-EMOv2-T/4"), ("dit_t_4", "DiT-T/4")):
    recs = [json.loads(l) for l in open(f"runs/{m}/log.jsonl")]
    s = [r["step"] for r in recs]
    ax[0].plot(s, [r["mse"] for r in recs], label=lab)
    ax[1].plot(s, [r["vb"] for r in recs], label=lab)
ax[0].set_title("ε-MSE (mean over 20 steps)"); ax[1].set_title("VLB term (bits/dim)")
for a in ax:
    a.set_xlabel("step"); a.set_yscale("log"); a.legend(); a.grid(alpha=.3)
fig.tight_layout(); fig.savefig("docs/generation/loss_curves.png", dpi=110)
