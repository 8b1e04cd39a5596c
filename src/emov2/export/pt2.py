"""``torch.export`` programs (``.pt2``): export with a dynamic batch (and optionally height/width), reload, run."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..layers import exportable_layers

__all__ = ["export_program", "export_pt2", "load_pt2"]


def export_program(
    model: nn.Module, img_size: int | tuple[int, int] = 224, *, batch: int = 1, dynamic_batch: bool = False,
    dynamic_hw: bool = False,
) -> torch.export.ExportedProgram:
    h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
    x = torch.randn(max(batch, 2) if dynamic_batch else batch, 3, h, w)  # batch 2: not specialised to 1
    dims = {}
    if dynamic_batch:
        dims[0] = torch.export.Dim("batch", min=1, max=4096)
    if dynamic_hw:  # from 33: smaller inputs make the stride-32 map 1x1, where PyTorch's conv specialises layout
        dims[2] = torch.export.Dim("height", min=33, max=4096)
        dims[3] = torch.export.Dim("width", min=33, max=4096)
    try:
        with exportable_layers(model.eval().cpu()):  # plain convs, the gather attention: portable, shape-generic
            return torch.export.export(model, (x,), dynamic_shapes=({**dims},) if dims else None)
    except Exception as e:
        if not dynamic_hw:
            raise
        first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), type(e).__name__)
        raise ValueError(f"dynamic height/width export failed: {type(e).__name__}: {first[:300]}") from e


def export_pt2(model: nn.Module | torch.export.ExportedProgram, path: str | os.PathLike,
               img_size: int | tuple[int, int] = 224, **kwargs) -> Path:
    """Write a ``torch.export`` program (given, or exported from ``model`` with ``kwargs`` as in
    :func:`export_program`); ``torch.export.load(path).module()(x)`` runs it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    program = model if isinstance(model, torch.export.ExportedProgram) else export_program(model, img_size, **kwargs)
    torch.export.save(program, str(path))
    return path


def load_pt2(path: str | os.PathLike) -> nn.Module:
    """The reloaded program as a callable module."""
    return torch.export.load(str(path)).module()
