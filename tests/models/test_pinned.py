"""The 2-D model is bit-identical to the code before the layer rewrite (main at 560f3b9): see pinned.py."""

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from .pinned import DATA, THREADS, compute_cases


def test_bitwise_equal_to_pinned_outputs():
    with safe_open(str(DATA), framework="pt") as f:
        meta = f.metadata()
    if meta["cpu_capability"] != torch.backends.cpu.get_cpu_capability():
        pytest.skip(f"pinned on a {meta['cpu_capability']} CPU, this one is "
                    f"{torch.backends.cpu.get_cpu_capability()} (other kernels, other round-off)")
    ref = load_file(str(DATA))
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        got = compute_cases()
    finally:
        torch.set_num_threads(threads)
    assert sorted(got) == sorted(ref)
    differ = {k: (got[k] - ref[k]).abs().max().item() for k in ref if not torch.equal(got[k], ref[k])}
    assert not differ, f"not bitwise equal to the pinned outputs: {differ}"
