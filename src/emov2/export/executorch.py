"""ExecuTorch ``.pte`` (XNNPACK delegate) and its Python runtime.

Needs the ``executorch`` pip package (checked: executorch 1.5.1 works with torch 2.14.1; its wheel declares no
torch requirement, so install it with ``pip install --no-deps executorch`` plus its small pure-Python
dependencies, see ``pip install 'emov2[executorch]'``, and never let pip change torch).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .pt2 import export_program

__all__ = ["executorch_available", "export_pte", "pte_runner"]


def executorch_available() -> str | None:
    """``None`` when ExecuTorch can be used, else why not (one line)."""
    try:
        import executorch  # noqa: F401
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner  # noqa: F401
        from executorch.runtime import Runtime  # noqa: F401
    except Exception as e:  # ImportError, or a binary built against another torch
        return f"executorch is not usable: {type(e).__name__}: {e}"
    return None


def export_pte(model: nn.Module, path: str | os.PathLike, img_size: int | tuple[int, int] = 224, *,
               batch: int = 1) -> Path:
    """Lower to XNNPACK (fp32) and write a ``.pte`` file (static shapes: XNNPACK plans memory ahead of time)."""
    problem = executorch_available()
    if problem:
        raise RuntimeError(problem)
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    program = export_program(model, img_size, batch=batch)
    et = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()]).to_executorch()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(et.buffer)
    return path


def pte_runner(path: str | os.PathLike) -> Callable[[torch.Tensor], torch.Tensor]:
    """Load a ``.pte`` with ExecuTorch's Python runtime; returns ``x -> logits``."""
    from executorch.runtime import Runtime

    method = Runtime.get().load_program(str(path)).load_method("forward")

    def run(x: torch.Tensor) -> torch.Tensor:
        return method.execute([x.contiguous()])[0]

    return run
