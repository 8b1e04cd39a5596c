"""Is a graph being captured for export? The layers take portable, shape-generic paths while it is.

``torch.compile`` is not export: its shapes are concrete (guarded), so the fast eager paths stay on. Dynamo in
torch 2.11 answered ``torch.compiler.is_exporting()`` with True under every ``torch.compile`` (an H100 profile of a
compiled EMOv2 showed the export paths: 1x1 convolutions instead of GEMMs, gathers with in-graph indices); the flag
that ``torch.export`` sets is read directly where it exists, which both versions trace correctly.
"""

from __future__ import annotations

import torch

__all__ = ["exporting", "capturing_for_export"]


def exporting() -> bool:
    """True only while ``torch.export`` traces (not under ``torch.compile``)."""
    flag = getattr(torch.compiler, "_is_exporting_flag", None)
    return torch.compiler.is_exporting() if flag is None else bool(flag)


def capturing_for_export() -> bool:
    """``torch.export``, a TorchScript trace or the TorchScript ONNX exporter is recording the graph."""
    return exporting() or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
