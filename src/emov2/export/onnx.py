"""ONNX export (opset >= 17): the dynamo exporter (``torch.onnx.export(dynamo=True)``, onnxscript) first,
the TorchScript exporter as fallback, with a dynamic batch and optionally dynamic height/width. Both trace the
model's exportable layers (:func:`emov2.layers.exportable_layers`: plain convs, the gather window attention)."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from ..layers import exportable_layers

__all__ = ["DEFAULT_OPSET", "export_onnx"]

DEFAULT_OPSET = 20  # opset 20 has Gelu: one ONNX Runtime kernel instead of Div/Erf/Add/Mul/Mul
INPUT_NAME, OUTPUT_NAME = "input", "logits"


def _dynamo_export(model, x, path: Path, opset: int, dynamic_batch: bool, dynamic_hw: bool) -> None:
    # torch.export first, with named dims: a shape guard raises here instead of being silently specialised
    # by the ONNX exporter's fallback strategies; the ONNX exporter then converts the exported program.
    from .pt2 import export_program

    if isinstance(model, torch.export.ExportedProgram):
        program = model
    else:
        program = export_program(model, tuple(x.shape[-2:]), batch=x.shape[0], dynamic_batch=dynamic_batch,
                                 dynamic_hw=dynamic_hw)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        onnx_program = torch.onnx.export(program, dynamo=True, opset_version=opset, input_names=[INPUT_NAME],
                                         output_names=[OUTPUT_NAME], verbose=False)
    onnx_program.save(str(path))


def _torchscript_export(model, x, path: Path, opset: int, dynamic_batch: bool, dynamic_hw: bool) -> None:
    axes: dict[int, str] = {}
    if dynamic_batch:
        axes[0] = "batch"
    if dynamic_hw:
        axes.update({2: "height", 3: "width"})
    with warnings.catch_warnings(), exportable_layers(model):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (x,), str(path), dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: {0: "batch"}} if axes else None,
            do_constant_folding=True,
        )


def export_onnx(
    model: nn.Module | torch.export.ExportedProgram,
    path: str | os.PathLike,
    *,
    img_size: int | tuple[int, int] = 224,
    batch: int = 1,
    dynamic_batch: bool = False,
    dynamic_hw: bool = False,
    opset: int | None = None,
    exporter: str = "auto",
) -> str:
    """Write ``model`` (eval mode, CPU, fp32) as ONNX; returns the exporter used (``dynamo`` / ``torchscript``).

    ``opset`` defaults to :data:`DEFAULT_OPSET`. ``model`` may also be a ``torch.export`` program (see
    :func:`emov2.export.export_program`), converted as is.

    ``exporter="auto"`` tries dynamo and falls back to TorchScript if dynamo raises. ``dynamic_hw`` needs the
    dynamo exporter, which computes the window attention's indices and padding in-graph from the symbolic sizes; a
    TorchScript trace records them for the traced size (wrong at other sizes), so it is never used for dynamic H/W.
    ``emov2 export`` exports a dynamic batch by default (``--static-batch`` fixes it); this function's default is
    the static batch ``batch``.
    """
    opset = DEFAULT_OPSET if opset is None else opset
    if opset < 17:
        raise ValueError(f"opset must be >= 17, got {opset}")
    if exporter not in ("auto", "dynamo", "torchscript"):
        raise ValueError(f"exporter must be auto, dynamo or torchscript, got {exporter!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
    x = torch.randn(max(batch, 2) if dynamic_batch else batch, 3, h, w)  # batch 2: not specialised to 1
    if isinstance(model, torch.export.ExportedProgram):
        exporter = "dynamo"  # already exported: its dynamic dims are the program's own
    else:
        model = model.eval().cpu()
    args = (model, x, path, opset, dynamic_batch, dynamic_hw)
    if dynamic_hw and exporter == "torchscript":
        raise ValueError("dynamic height/width needs the dynamo exporter (a TorchScript trace freezes the "
                         "attention's shape-dependent branches)")
    if exporter in ("auto", "dynamo"):
        try:
            _dynamo_export(*args)
            return "dynamo"
        except Exception as e:  # the dynamo exporter raises many error types
            if dynamic_hw or exporter == "dynamo":
                raise
            warnings.warn(f"dynamo ONNX export failed ({type(e).__name__}: {str(e)[:200]}); using TorchScript",
                          stacklevel=2)
    _torchscript_export(*args)
    return "torchscript"
