"""Parity of a benchmarked runtime against eager fp32: a broken export must not produce a fast-but-wrong timing.

The check runs the exported step on real calibration images (batch by batch, at the exported batch size) and
compares the logits with the PyTorch model's: the max absolute difference, relative to the largest reference logit,
must stay under the runtime's tolerance (fp32 runtimes: rounding only; INT8: quantisation noise, far below what a
changed layer does), and top-1 agreement is recorded beside it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

__all__ = ["FP32_TOLERANCE", "INT8_TOLERANCE", "ParityError", "check_runtime", "parity_tolerance", "runtime_parity"]

FP32_TOLERANCE = 1e-4  # max |diff| / max |ref|: ONNX Runtime and XNNPACK fp32 reach ~1e-6
INT8_TOLERANCE = 0.25  # static INT8 of the perturbed models reaches ~0.02-0.1; a zeroed or rescaled layer is O(1)


class ParityError(AssertionError):
    """An exported runtime disagrees with eager fp32."""


def parity_tolerance(runtime: str) -> float:
    return INT8_TOLERANCE if runtime.endswith("int8") else FP32_TOLERANCE


@torch.no_grad()
def runtime_parity(model: nn.Module, run: Callable[[torch.Tensor], object], images: torch.Tensor, *,
                   batch: int = 1) -> dict:
    """``max_abs``, ``ref_max_abs``, ``rel`` (their ratio) and ``top1_agree`` (%) of ``run`` against ``model`` over
    ``images`` (N, 3, H, W), fed ``batch`` at a time (the remainder that fills no batch is left out)."""
    n = len(images) - len(images) % batch
    if n == 0:
        raise ValueError(f"parity needs at least {batch} images, got {len(images)}")
    x = images[:n]
    ref = model.eval()(x).float().numpy()
    outs = []
    for i in range(0, n, batch):
        out = run(x[i:i + batch].contiguous())
        outs.append(out.detach().float().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, np.float32))
    out = np.concatenate(outs)
    if out.shape != ref.shape:
        raise ParityError(f"exported output shape {out.shape} != PyTorch {ref.shape}")
    max_abs, ref_max = float(np.abs(out - ref).max()), float(np.abs(ref).max())
    return dict(images=n, max_abs=max_abs, ref_max_abs=ref_max, rel=max_abs / max(ref_max, 1e-12),
                top1_agree=float((out.argmax(1) == ref.argmax(1)).mean() * 100))


def check_runtime(model: nn.Module, run: Callable[[torch.Tensor], object], images: torch.Tensor, *, batch: int = 1,
                  tolerance: float = FP32_TOLERANCE) -> dict:
    """:func:`runtime_parity` with a ``summary`` line; raises :class:`ParityError` above ``tolerance``."""
    p = runtime_parity(model, run, images, batch=batch)
    p["summary"] = (f"max |diff| {p['max_abs']:.2e} ({p['rel']:.1e} of |ref| max {p['ref_max_abs']:.2f}), top-1 "
                    f"agreement {p['top1_agree']:.0f}% on {p['images']} calibration images")
    if not p["rel"] <= tolerance:  # NaN fails too
        raise ParityError(f"parity vs eager fp32 failed: {p['summary']}; tolerance {tolerance:g} of |ref| max")
    return p
