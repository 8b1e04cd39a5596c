"""Callables that run one measured step: PyTorch inference, a PyTorch training step, ONNX Runtime inference (fp32 or
static INT8), ExecuTorch XNNPACK inference (fp32 or PT2E INT8). The exported steps also run any input (``run``), for
their parity check against PyTorch."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .profiling import ort_op_times, pte_op_times

__all__ = ["DTYPES", "OrtStep", "PteStep", "autocast", "make_infer", "make_ort_infer", "make_pte_infer", "make_train",
           "prepare"]

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device: str, precision: str):
    """Autocast context for bf16/fp16 (weights stay fp32, as in mixed-precision use); none for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=DTYPES[precision])


def prepare(model: nn.Module, device: str, channels_last: bool, compile: bool) -> nn.Module:
    """Move to ``device`` (and channels_last); ``compile``: torch.compile, for CPU inference with inductor's freezing
    (weights become constants, folded and prepacked for oneDNN; without it inductor gains nothing on CPU here)."""
    model = model.to(device)
    if torch.device(device).type == "cuda":  # EMOv2 attention built on CPU runs matmuls; SDPA on the GPU
        from ..layers import configure_layers

        configure_layers(model, fused_attn=True)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if compile:
        freeze = torch.device(device).type == "cpu" and not model.training
        model = torch.compile(model, options={"freezing": True} if freeze else None)
    return model


def _input(batch: int, img_size: int, device: str, channels_last: bool) -> torch.Tensor:
    x = torch.randn(batch, 3, img_size, img_size, device=device)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def make_infer(
    model: nn.Module, *, batch: int, img_size: int, device: str, precision: str = "fp32",
    channels_last: bool = False, compile: bool = False,
) -> Callable[[], torch.Tensor]:
    model = prepare(model.eval(), device, channels_last, compile)
    x = _input(batch, img_size, device, channels_last)

    def step() -> torch.Tensor:
        with torch.inference_mode(), autocast(device, precision):
            return model(x)

    return step


def make_train(
    model: nn.Module, *, batch: int, img_size: int, device: str, precision: str = "fp32",
    channels_last: bool = False, compile: bool = False, num_classes: int = 1000, lr: float = 1e-3,
) -> Callable[[], torch.Tensor]:
    """One AdamW step on a fixed random batch (forward, cross-entropy, backward, update)."""
    model = prepare(model.train(), device, channels_last, compile)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    scaler = torch.amp.GradScaler(device=torch.device(device).type, enabled=precision == "fp16")
    x = _input(batch, img_size, device, channels_last)
    y = torch.randint(0, num_classes, (batch,), device=device)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        with autocast(device, precision):
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss

    return step


class OrtStep:
    """One ONNX Runtime inference of a fixed random input (a benchmark step); ``profile_totals`` reruns it in a second
    session with ONNX Runtime's profiler on (it can only be turned on when a session is created)."""

    def __init__(self, path: str | os.PathLike, *, batch: int, img_size: int, threads: int | None, device: str) -> None:
        import onnxruntime as ort

        self.path, self.threads = Path(path), threads
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.startswith("cuda") else \
            ["CPUExecutionProvider"]
        self.providers = [p for p in providers if p in ort.get_available_providers()]
        self.session = self._session()
        self.feed = {self.session.get_inputs()[0].name: torch.randn(batch, 3, img_size, img_size).numpy()}

    def _session(self, profile: bool = False):
        from ..export.check import ort_session

        prefix = str(Path(tempfile.gettempdir()) / f"emov2-ort-profile-{os.getpid()}") if profile else None
        return ort_session(self.path, self.threads, providers=self.providers, profile_prefix=prefix)

    def __call__(self):
        return self.session.run(None, self.feed)

    def run(self, x: torch.Tensor):
        """Logits (numpy) of the batch ``x`` (of the exported batch size)."""
        return self.session.run(None, {self.session.get_inputs()[0].name: x.numpy()})[0]

    def profile_totals(self, steps: int) -> dict[str, float]:
        """Self time (µs over ``steps`` runs after one warm-up run) per ONNX op type."""
        session = self._session(profile=True)
        for _ in range(steps + 1):
            session.run(None, self.feed)
        return ort_op_times(session.end_profiling(), skip_runs=1)


def make_ort_infer(
    model: nn.Module, *, batch: int, img_size: int, path: str | os.PathLike, threads: int | None = None,
    device: str = "cpu", exporter: str = "auto", calibration: torch.Tensor | None = None,
) -> OrtStep:
    """Export ``model`` to ONNX at ``path`` (fp32, fixed shape) and return its ONNX Runtime step; with
    ``calibration`` images (N, 3, H, W), the static INT8 (QDQ, per-channel) model calibrated on them instead."""
    from ..export.onnx import export_onnx

    path = Path(path)
    if calibration is None:
        export_onnx(model.eval().cpu(), path, img_size=img_size, batch=batch, exporter=exporter)
    else:
        from ..export.quantize import quantize_onnx

        fp32 = path.with_name(path.stem + ".fp32.onnx")
        export_onnx(model.eval().cpu(), fp32, img_size=img_size, batch=batch, exporter=exporter)
        quantize_onnx(fp32, path, "int8-static", calibration=[calibration.numpy()])
        fp32.unlink()
    return OrtStep(path, batch=batch, img_size=img_size, threads=threads, device=device)


class PteStep:
    """One ExecuTorch inference (Python runtime, XNNPACK delegate) of a fixed random input; ``profile_totals`` reruns
    it in a second copy of the program loaded with ETDump (ExecuTorch's event tracer) on."""

    def __init__(self, path: str | os.PathLike, *, batch: int, img_size: int) -> None:
        from ..export.executorch import pte_runner

        self.path = Path(path)
        self.run = pte_runner(path)
        self.x = torch.randn(batch, 3, img_size, img_size)

    def __call__(self):
        return self.run(self.x)

    def profile_totals(self, steps: int) -> dict[str, float]:
        """Self time (µs over ``steps`` runs after one warm-up run) per XNNPACK / portable operator."""
        from executorch.extension.pybindings.portable_lib import _load_for_executorch

        module = _load_for_executorch(str(self.path), enable_etdump=True)
        for _ in range(steps + 1):
            module.forward([self.x])
        trace = Path(tempfile.gettempdir()) / f"emov2-pte-profile-{os.getpid()}.etdp"
        module.write_etdump_result_to_file(str(trace))
        return pte_op_times(trace, skip_runs=1)


def make_pte_infer(
    model: nn.Module, *, batch: int, img_size: int, path: str | os.PathLike, threads: int | None = None,
    calibration: torch.Tensor | None = None,
) -> PteStep:
    """Lower ``model`` to an XNNPACK ``.pte`` at ``path`` (fp32; PT2E static INT8 calibrated on ``calibration``
    images when given) and return its step. ``threads``: the size of ExecuTorch's thread pool (XNNPACK's workers;
    one pool per process, shared by every ``.pte``)."""
    from ..export.executorch import export_pte, set_pte_threads

    if threads:
        set_pte_threads(threads)
    export_pte(model.eval().cpu(), path, img_size, batch=batch, calibration=None if calibration is None else
               [calibration])
    return PteStep(path, batch=batch, img_size=img_size)
