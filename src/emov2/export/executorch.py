"""ExecuTorch ``.pte`` (XNNPACK delegate, fp32 or PT2E INT8) and its Python runtime.

Needs the ``executorch`` pip package (``pip install 'emov2[mobile]'``; executorch 1.5.1 declares no torch requirement
and installs beside torch 2.14.1 without changing it).

Known crash (executorch 1.5.1): the XNNPACK delegate segfaults *running* an EMOv2 program in which a window attention
sees a map that is not a multiple of its window (padded windows, e.g. 64 px input with window 7); the portable
kernels run the same program correctly, and unpadded maps (224 px: 14x14 and 7x7 maps) run. :func:`export_pte`
refuses such a model with one line naming the layer instead of writing a file that kills the process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn

from .pt2 import export_program

__all__ = ["executorch_available", "export_pte", "padded_windows", "pte_runner", "quantize_pt2e_xnnpack",
           "set_pte_threads"]

MISSING = "pip install 'emov2[mobile]'"


def executorch_available() -> str | None:
    """``None`` when ExecuTorch can be used, else why not (one line)."""
    try:
        import executorch  # noqa: F401
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner  # noqa: F401
        from executorch.runtime import Runtime  # noqa: F401
    except Exception as e:  # ImportError, or a binary built against another torch
        return f"executorch is not usable ({MISSING}): {type(e).__name__}: {e}"
    return None


@torch.no_grad()
def padded_windows(model: nn.Module, img_size: int | tuple[int, int], batch: int = 1) -> list[str]:
    """``"name: map HxW, window hxw"`` for every window attention of ``model`` whose map at ``img_size`` is not a
    multiple of its window (the case ExecuTorch 1.5.1's XNNPACK delegate crashes on)."""
    from ..layers.attention import WindowAttention
    from ..layers.attention_kernels import effective_window

    h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
    found: list[str] = []
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, WindowAttention):
            def hook(mod, args, name=name):
                size = list(args[0].shape[2:])
                win = effective_window(size, list(mod.window))
                if any(s % k for s, k in zip(size, win, strict=True)):
                    found.append(f"{name}: map {'x'.join(map(str, size))}, window {'x'.join(map(str, win))}")
            hooks.append(m.register_forward_pre_hook(hook))
    if hooks:
        try:
            model.eval()(torch.zeros(batch, 3, h, w))
        finally:
            for hk in hooks:
                hk.remove()
    return found


def quantize_pt2e_xnnpack(model: nn.Module, img_size: int | tuple[int, int], calibration: Iterable[torch.Tensor], *,
                          batch: int = 1) -> torch.export.ExportedProgram:
    """PT2E static INT8 for XNNPACK: ``torch.export`` (the exportable layers), ExecuTorch's ``XNNPACKQuantizer``
    (symmetric INT8, per-channel MinMax weights, static activations with its histogram observers) calibrated on
    ``calibration`` (NCHW batches, sliced to ``batch``), converted and exported again for lowering."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from executorch.exir.passes.constant_prop_pass import constant_prop_pass
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    # static shapes: the attention's window indices (int32 arange arithmetic) fold to constants first; left in the
    # graph, the quantizer annotates their adds and multiplies as float ops and index_select gets a float index
    program = constant_prop_pass(export_program(model, img_size, batch=batch))
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True,
                                                                                is_dynamic=False))
    prepared = prepare_pt2e(program.module(), quantizer)
    example = None
    with torch.no_grad():
        for x in calibration:
            for i in range(0, len(x) - batch + 1, batch):
                example = x[i:i + batch].float().contiguous()
                prepared(example)
    if example is None:
        raise ValueError(f"INT8 calibration needs at least one batch of {batch} images")
    converted = convert_pt2e(prepared)
    return torch.export.export(converted, (example,))


def export_pte(model: nn.Module, path: str | os.PathLike, img_size: int | tuple[int, int] = 224, *,
               batch: int = 1, calibration: Iterable[torch.Tensor] | None = None) -> Path:
    """Lower to XNNPACK and write a ``.pte`` file (static shapes: XNNPACK plans memory ahead of time): fp32, or
    static INT8 (:func:`quantize_pt2e_xnnpack`) when ``calibration`` batches are given."""
    problem = executorch_available()
    if problem:
        raise RuntimeError(problem)
    padded = padded_windows(model, img_size, batch)
    if padded:
        raise RuntimeError(f"ExecuTorch 1.5.1's XNNPACK delegate crashes on padded attention windows ({padded[0]}"
                           f"{f' and {len(padded) - 1} more' if len(padded) > 1 else ''}); choose an input size "
                           "whose attention maps are multiples of the window (224 for the ImageNet variants)")
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    if calibration is None:
        from executorch.exir.passes.constant_prop_pass import constant_prop_pass

        # static shapes: the window indices fold to constants instead of int32 kernels run on every call
        program = constant_prop_pass(export_program(model, img_size, batch=batch))
    else:
        program = quantize_pt2e_xnnpack(model, img_size, calibration, batch=batch)
    et = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()]).to_executorch()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(et.buffer)
    return path


def set_pte_threads(threads: int) -> int:
    """Resize ExecuTorch's process-wide thread pool (the XNNPACK delegate's workers; by default one per core);
    returns the size it reports after."""
    from executorch.extension.pybindings import portable_lib

    if portable_lib._threadpool_get_thread_count() != threads:
        portable_lib._unsafe_reset_threadpool(threads)
    return portable_lib._threadpool_get_thread_count()


def pte_runner(path: str | os.PathLike) -> Callable[[torch.Tensor], torch.Tensor]:
    """Load a ``.pte`` with ExecuTorch's Python runtime; returns ``x -> logits``."""
    from executorch.runtime import Runtime

    method = Runtime.get().load_program(str(path)).load_method("forward")

    def run(x: torch.Tensor) -> torch.Tensor:
        return method.execute([x.contiguous()])[0]

    return run
