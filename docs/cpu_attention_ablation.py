"""How much of the CPU latency is the window attention itself? An ablation, not a model: timed in one process,
interleaved, batch 1, channels_last, fused.

    python docs/cpu_attention_ablation.py [--model emov2_5m] [--peer edgenext_small] [--reps 15]

Rows:
  full               the model as it runs
  no softmax.V       QK^T and softmax computed, the attention-weighted sum of V skipped (V passed through)
  no attention math  the window cuts (permute copies) kept, QK^T, softmax and the V sum skipped
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
from emov2.layers import attention, attention_kernels


def _skip_softmax_v(q, k, v, bias=None, fused=False):
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

    # the eager kernel is attend_permute (called from attention.py), which calls attend (in attention_kernels.py)
    attend, kernel = attention_kernels.attend, attention.attend_permute
    patches = {  # row -> (attend, kernel)
        "full": (attend, kernel),
        "no softmax.V": (_skip_softmax_v, kernel),
        "no attention math": (lambda q, k, v, bias=None, fused=False: v, kernel),
        "no attention core": (attend, lambda qk, v, *args: v),
    }

    def run(row: str) -> None:
        if row == "peer":
            peer(x)
            return
        attention_kernels.attend, attention.attend_permute = patches[row]
        try:
            ours(x)
        finally:
            attention_kernels.attend, attention.attend_permute = attend, kernel

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
