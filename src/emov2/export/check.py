"""Parity checks of exported files against the PyTorch model: max absolute (and relative) difference."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .inputs import parity_inputs

__all__ = ["Parity", "check_parity", "ort_runner", "ort_session"]


@dataclass(frozen=True)
class Parity:
    name: str  # which input batch
    shape: tuple[int, ...]
    max_abs: float
    ref_max_abs: float  # the scale of the reference output, to judge max_abs

    def __str__(self) -> str:
        return f"{self.name} {list(self.shape)}: max |diff| {self.max_abs:.2e} (|ref| max {self.ref_max_abs:.2e})"


def ort_session(path: str | os.PathLike, threads: int | None = None, *, providers: list[str] | None = None,
                profile_prefix: str | None = None):
    """An ONNX Runtime session of the file at ``path``: ``threads`` intra-op threads (one inter-op thread), on the CPU
    unless ``providers`` says otherwise; ``profile_prefix`` turns on ONNX Runtime's profiler (possible only here, at
    creation). Its workers do not spin after a run: spinning steals the cores from whatever runs next (PyTorch eager
    ran 1.6x slower beside spinning sessions on 2 cores)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if profile_prefix:
        opts.enable_profiling = True
        opts.profile_file_prefix = profile_prefix
    return ort.InferenceSession(str(path), opts, providers=providers or ["CPUExecutionProvider"])


def ort_runner(path: str | os.PathLike, threads: int | None = None) -> Callable[[torch.Tensor], np.ndarray]:
    session = ort_session(path, threads)
    name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> np.ndarray:
        return session.run(None, {name: x.numpy()})[0]

    return run


@torch.no_grad()
def check_parity(
    model: nn.Module,
    run: Callable[[torch.Tensor], object],
    inputs: dict[str, torch.Tensor] | None = None,
    *,
    img_size: int | tuple[int, int] = 224,
) -> list[Parity]:
    """Compare ``run(x)`` (any exported runtime) with ``model(x)`` on random and real images."""
    model = model.eval()
    inputs = inputs if inputs is not None else parity_inputs(img_size)
    results = []
    for name, x in inputs.items():
        ref = model(x).float().numpy()
        out = run(x)
        out = out.detach().float().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, dtype=np.float32)
        if out.shape != ref.shape:
            raise AssertionError(f"{name}: exported output shape {out.shape} != PyTorch {ref.shape}")
        results.append(Parity(name, tuple(x.shape), float(np.abs(out - ref).max()), float(np.abs(ref).max())))
    return results
