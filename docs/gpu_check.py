"""GPU parity check: every CUDA code path of EMOv2 against a CPU float64 reference.

Paths: SDPA attention (``fused_attn``, set by ``emov2.configure_layers``), channels_last, the fused model, bf16
autocast, a CUDA graph capture and (``--compile``) torch.compile. Inputs: 224x224 (windowed stages and a one-window
stage 4) and 97x131 (padded windows and a padded single window, i.e. the logit-bias path). Weights are perturbed so the
outputs carry signal. Prints ||out - ref|| / ||ref|| per case and exits 1 if any exceeds its tolerance
(fp32 1e-4 with TF32 off, bf16 3e-2).

    python docs/gpu_check.py [--models emov2_1m,emov2_5m] [--compile]
"""

from __future__ import annotations

import argparse
import copy
import sys

import torch

import emov2
from emov2.export import perturb_

TOL = {"fp32": 1e-4, "bf16": 3e-2}


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    out = out.detach().double().cpu()
    if not torch.isfinite(out).all():
        return float("inf")
    return ((out - ref).norm() / ref.norm()).item()


def cuda_graph(model, x):
    """Capture one forward in a CUDA graph and replay it on ``x``."""
    static = x.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream), torch.inference_mode():
        for _ in range(2):
            model(static)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.inference_mode(), torch.cuda.graph(graph):
        out = model(static)
    static.copy_(x)
    graph.replay()
    torch.cuda.synchronize()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="emov2_1m,emov2_5m")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--device", default="cuda", help="cpu runs the same cases (no CUDA graph) as a dry run")
    ap.add_argument("--compile", action="store_true", help="also check torch.compile (fused, channels_last, bf16)")
    args = ap.parse_args()
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    failures = 0
    for name in args.models.split(","):
        model = perturb_(emov2.create_model(name), seed=0).eval()
        ref_model = copy.deepcopy(model).double()
        dev = args.device
        gpu = emov2.configure_layers(model.to(dev), fused_attn=dev.startswith("cuda"))  # SDPA on the GPU
        fused = emov2.reparameterize(copy.deepcopy(gpu)).to(memory_format=torch.channels_last).eval()
        for h, w in ((224, 224), (97, 131)):
            x = torch.randn(args.batch, 3, h, w, generator=torch.Generator().manual_seed(h * w))
            with torch.no_grad():
                ref = ref_model(x.double())
            xg = x.to(dev)
            xcl = xg.contiguous(memory_format=torch.channels_last)
            cases = {}
            with torch.inference_mode():
                cases["fp32"] = ("fp32", gpu(xg))
                cases["fp32 fused channels_last"] = ("fp32", fused(xcl))
                with torch.autocast(torch.device(dev).type, dtype=torch.bfloat16):
                    cases["bf16 autocast"] = ("bf16", gpu(xg))
                    cases["bf16 autocast fused channels_last"] = ("bf16", fused(xcl))
            if dev.startswith("cuda"):
                cases["fp32 fused channels_last, CUDA graph"] = ("fp32", cuda_graph(fused, xcl))
            if args.compile and (h, w) == (224, 224):
                compiled = torch.compile(fused)
                with torch.inference_mode(), torch.autocast(torch.device(dev).type, dtype=torch.bfloat16):
                    cases["bf16 autocast fused channels_last, compiled"] = ("bf16", compiled(xcl))
            for case, (kind, out) in cases.items():
                err = rel_err(out, ref)
                ok = err <= TOL[kind]
                failures += not ok
                print(f"{name} {h}x{w} {case:45s} rel err {err:.2e} {'ok' if ok else 'FAIL'}", flush=True)
    print("gpu_check:", "all ok" if not failures else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
