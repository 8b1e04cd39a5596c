"""Interleaved timing: every repetition runs each candidate once (in a rotating order), so drift and
neighbours' load on a shared machine fall on all candidates alike. Medians and percentiles, not means."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

__all__ = ["Stats", "summarize", "time_interleaved"]


@dataclass(frozen=True)
class Stats:
    """Seconds per call over the repetitions."""

    n: int
    median: float
    p10: float
    p25: float
    p75: float
    p90: float
    minimum: float

    def as_ms(self) -> dict[str, float]:
        return {k: (v * 1e3 if k != "n" else v) for k, v in asdict(self).items()}


def _quantile(sorted_values: list[float], q: float) -> float:
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(samples: list[float]) -> Stats:
    if not samples:
        raise ValueError("no timing samples")
    s = sorted(samples)
    return Stats(len(s), _quantile(s, 0.5), _quantile(s, 0.1), _quantile(s, 0.25), _quantile(s, 0.75),
                 _quantile(s, 0.9), s[0])


def _sync(device: str) -> Callable[[], None]:
    if device.startswith("cuda"):
        return torch.cuda.synchronize
    return lambda: None


def time_interleaved(
    runners: dict[str, Callable[[], object]],
    *,
    warmup: int = 3,
    reps: int = 10,
    iters: int = 1,
    device: str = "cpu",
    log=None,
) -> dict[str, list[float]]:
    """Seconds per call for each runner: ``reps`` samples, each the mean of ``iters`` back-to-back calls.

    Warm-up runs every runner ``warmup`` times first (compilation, allocator, autotuning). Repetition ``r``
    starts at runner ``r mod n`` so no candidate always runs first or right after the same neighbour.
    """
    sync = _sync(device)
    names = list(runners)
    for name in names:
        for _ in range(warmup):
            runners[name]()
        sync()
    if log:
        log("warm-up done")
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(reps):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            fn = runners[name]
            sync()
            t0 = time.perf_counter()
            for _ in range(iters):
                fn()
            sync()
            samples[name].append((time.perf_counter() - t0) / iters)
        if log:
            log(f"repetition {r + 1}/{reps} done")
    return samples
