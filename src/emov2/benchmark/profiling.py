"""Where a benchmarked step spends its time: its most expensive operators by self time (``emov2 bench --profile N``).

PyTorch steps run under ``torch.profiler`` (CPU time per ATen operator; on a GPU, device time per kernel); ONNX Runtime
steps run in a second session with ONNX Runtime's own profiler, grouped by ONNX op type; ExecuTorch steps run in a
second program loaded with ETDump on (its event tracer), read by ``executorch.devtools.Inspector``: XNNPACK's operators
(``Convolution (NHWC, F32) IGEMM``, ...) and the portable kernels outside the delegate. A share is of the summed self
time of all operators, so the full list adds up to 100 %.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["PROFILE_STEPS", "OpTime", "ort_op_times", "profile_step", "profile_torch", "pte_op_times", "self_times",
           "top_ops"]

PROFILE_STEPS = 5


@dataclass(frozen=True)
class OpTime:
    op: str
    ms_per_step: float
    share: float  # of all operators' self time, 0-1


def top_ops(totals_us: dict[str, float], steps: int, n: int) -> list[OpTime]:
    """The ``n`` largest of ``totals_us`` (operator -> self time in µs summed over ``steps`` steps)."""
    total = sum(totals_us.values())
    if total <= 0:
        return []
    ranked = sorted(totals_us.items(), key=lambda kv: -kv[1])[:n]
    return [OpTime(op, us / steps / 1e3, us / total) for op, us in ranked]


def profile_torch(step: Callable[[], object], *, device: str = "cpu", steps: int = PROFILE_STEPS) -> dict[str, float]:
    """Self time (µs, summed over ``steps`` calls) per ATen operator, or per CUDA kernel on a GPU."""
    from torch.profiler import ProfilerActivity, profile

    cuda = torch.device(device).type == "cuda"
    step()  # outside the profile: lazy initialisation, caches
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        if cuda:
            torch.cuda.synchronize()
    return self_times(prof.key_averages(), cuda=cuda)


def self_times(events, *, cuda: bool) -> dict[str, float]:
    """Self time per event key (µs): CPU time of CPU events, or on a GPU the device time of device events (kernels)
    only, since a CPU operator also carries the device time of the kernels it launched and would count it twice."""
    from torch.autograd import DeviceType

    totals: dict[str, float] = {}
    for event in events:
        if cuda:
            t = event.self_device_time_total if event.device_type != DeviceType.CPU else 0
        else:
            t = event.self_cpu_time_total if event.device_type == DeviceType.CPU else 0
        if t > 0:
            totals[event.key] = totals.get(event.key, 0.0) + float(t)
    return totals


def ort_op_times(trace_path: str | Path, *, skip_runs: int = 1) -> dict[str, float]:
    """Self time (µs) per ONNX op type in an ONNX Runtime profile (``session.end_profiling()``'s file, deleted after
    reading), leaving out the first ``skip_runs`` runs (warm-up)."""
    path = Path(trace_path)
    try:
        events = json.loads(path.read_text())
    finally:
        path.unlink(missing_ok=True)
    runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("name") == "model_run")
    start = runs[skip_runs - 1][1] if 0 < skip_runs <= len(runs) else 0
    times: Counter = Counter()
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time") and e["ts"] >= start:
            times[e["args"]["op_name"]] += e["dur"]
    return {op: float(us) for op, us in times.items()}


# ETDump events that contain others (a delegate call holds XNNPACK's operators, an OPERATOR_CALL its portable
# kernel's native_call_*, the method all of them) or run once at load
_PTE_ENVELOPES = {"DELEGATE_CALL", "OPERATOR_CALL", "Method::execute", "Method::init", "Program::load_method"}


def pte_op_times(etdump_path: str | Path, *, skip_runs: int = 1) -> dict[str, float]:
    """Self time (µs) per operator in an ExecuTorch ETDump (deleted after reading), the first ``skip_runs`` runs left
    out; XNNPACK's numbered instances (``... #3``) are summed under one name."""
    from executorch.devtools import Inspector

    path = Path(etdump_path)
    try:
        inspector = Inspector(etdump_path=str(path))
    finally:
        path.unlink(missing_ok=True)
    times: Counter = Counter()
    for block in inspector.event_blocks:
        for event in block.events:
            if event.name in _PTE_ENVELOPES or event.perf_data is None:
                continue
            op = event.name.rsplit(" #", 1)[0]
            times[op] += sum(event.perf_data.raw[skip_runs:]) * 1e3  # Inspector reports ms
    return {op: float(us) for op, us in times.items()}


def profile_step(step: Callable[[], object], *, device: str, top: int, steps: int = PROFILE_STEPS) -> list[OpTime]:
    """The ``top`` most expensive operators of a benchmark step: a PyTorch callable, or a step that profiles itself
    (``profile_totals(steps)``: ONNX Runtime, in a second session of its own)."""
    if hasattr(step, "profile_totals"):
        totals = step.profile_totals(steps)
    else:
        totals = profile_torch(step, device=device, steps=steps)
    return top_ops(totals, steps, top)
