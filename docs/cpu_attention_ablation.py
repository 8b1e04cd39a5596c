"""How much of the CPU latency is the window attention itself? An ablation, not a model: timed in one process,
interleaved, batch 1, channels_last, fused.

    python docs/cpu_attention_ablation.py [--model emov2_5m] [--peer edgenext_small] [--reps 15]

Rows:
  full               the model as it runs
  no softmax.V       QK^T and softmax computed, the attention-weighted sum of V skipped (V passed through)
  no attention math  the window gathers/scatters kept, QK^T, softmax and the V sum skipped
  no attention core  V passed straight through (projections, GELU, depthwise conv etc. kept): a lower bound on
                     what any window attention implementation could reach inside this architecture
  peer               a timm model, same settings
The rows that skip work compute a different (wrong) function; they only bound where the time goes.
"""

from __future__ import annotations

import argparse
import statistics
import time

import timm
import torch

import emov2
from emov2.layers import attention


def _skip_softmax_v(q, k, v, bias=None, sdpa=None):
    attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    (attn if bias is None else attn + bias).softmax(dim=-1)
    return v


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="emov2_5m")
    ap.add_argument("--peer", default="edgenext_small")
    ap.add_argument("--img-size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--iters", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.randn(1, 3, args.img_size, args.img_size).to(memory_format=torch.channels_last)
    ours = emov2.reparameterize(timm.create_model(args.model)).to(memory_format=torch.channels_last)
    peer = timm.create_model(args.peer).eval().to(memory_format=torch.channels_last)

    attend, windows = attention._attend, attention.WindowAttention._attend_windows
    one_window = attention.WindowAttention._attend_one_window
    patches = {  # row -> (_attend, _attend_windows, _attend_one_window)
        "full": (attend, windows, one_window),
        "no softmax.V": (_skip_softmax_v, windows, one_window),
        "no attention math": (lambda q, k, v, bias=None, sdpa=None: v, windows, one_window),
        "no attention core": (attend, lambda self, x, qk, v, h, w: v, lambda self, x, qk, v, n_pad: v),
    }

    def run(row: str) -> None:
        if row == "peer":
            peer(x)
            return
        attention._attend, attention.WindowAttention._attend_windows, attention.WindowAttention._attend_one_window = (
            patches[row])
        try:
            ours(x)
        finally:
            attention._attend, attention.WindowAttention._attend_windows = attend, windows
            attention.WindowAttention._attend_one_window = one_window

    rows = [*patches, "peer"]
    times: dict[str, list[float]] = {r: [] for r in rows}
    with torch.inference_mode():
        for r in rows:
            for _ in range(3):
                run(r)
        for rep in range(args.reps):
            for r in rows[rep % len(rows):] + rows[:rep % len(rows)]:
                t = time.perf_counter()
                for _ in range(args.iters):
                    run(r)
                times[r].append((time.perf_counter() - t) / args.iters * 1e3)
    full = statistics.median(times["full"])
    print(f"{args.model} (fused, channels_last) vs {args.peer}, batch 1, {args.img_size}px, {args.threads} threads, "
          f"torch {torch.__version__}")
    print("| row | median ms | p10-p90 ms | share of full |\n|---|---:|---:|---:|")
    for r in rows:
        t = sorted(times[r])
        med = statistics.median(t)
        name = args.peer if r == "peer" else r
        print(f"| {name} | {med:.1f} | {t[len(t) // 10]:.1f}-{t[-1 - len(t) // 10]:.1f} | {med / full:.0%} |")


if __name__ == "__main__":
    main()
