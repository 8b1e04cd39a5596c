"""ONNX export (opset >= 17): the dynamo exporter (``torch.onnx.export(dynamo=True)``, onnxscript) first,
the TorchScript exporter as fallback, with a dynamic batch and optionally dynamic height/width."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

import torch
from torch import nn

__all__ = ["DEFAULT_OPSET", "export_onnx"]

DEFAULT_OPSET = 18
INPUT_NAME, OUTPUT_NAME = "input", "logits"


def _dynamo_export(model, x, path: Path, opset: int, dynamic_batch: bool, dynamic_hw: bool) -> None:
    dims = {}
    if dynamic_batch:
        dims[0] = torch.export.Dim("batch", min=1, max=4096)
    if dynamic_hw:  # named dims: export fails loudly instead of silently specialising (as Dim.DYNAMIC would)
        dims[2] = torch.export.Dim("height", min=16, max=4096)
        dims[3] = torch.export.Dim("width", min=16, max=4096)
    dynamic_shapes = ({**dims},) if dims else None
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model, (x,), dynamo=True, opset_version=opset, dynamic_shapes=dynamic_shapes,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], verbose=False,
        )
    program.save(str(path))


def _torchscript_export(model, x, path: Path, opset: int, dynamic_batch: bool, dynamic_hw: bool) -> None:
    axes: dict[int, str] = {}
    if dynamic_batch:
        axes[0] = "batch"
    if dynamic_hw:
        axes.update({2: "height", 3: "width"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (x,), str(path), dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: {0: "batch"}} if axes else None,
            do_constant_folding=True,
        )


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    img_size: int | tuple[int, int] = 224,
    batch: int = 1,
    dynamic_batch: bool = False,
    dynamic_hw: bool = False,
    opset: int = DEFAULT_OPSET,
    exporter: str = "auto",
) -> str:
    """Write ``model`` (eval mode, CPU, fp32) as ONNX; returns the exporter used (``dynamo`` / ``torchscript``).

    ``exporter="auto"`` tries dynamo and falls back to TorchScript if dynamo raises. ``dynamic_hw`` needs the
    dynamo exporter: a TorchScript trace would freeze the shape-dependent branches (padding, single window)
    of the window attention and give wrong outputs at other sizes, so it is never used for dynamic H/W.
    """
    if opset < 17:
        raise ValueError(f"opset must be >= 17, got {opset}")
    if exporter not in ("auto", "dynamo", "torchscript"):
        raise ValueError(f"exporter must be auto, dynamo or torchscript, got {exporter!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
    # A batch of 2 keeps the batch dimension from being specialised to 1 during tracing.
    x = torch.randn(max(batch, 2) if dynamic_batch else batch, 3, h, w)
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
            if dynamic_hw:
                first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), type(e).__name__)
                raise ValueError(f"dynamic height/width export failed: {type(e).__name__}: {first[:300]}") from e
            if exporter == "dynamo":
                raise
            warnings.warn(f"dynamo ONNX export failed ({type(e).__name__}: {str(e)[:200]}); using TorchScript",
                          stacklevel=2)
    _torchscript_export(*args)
    return "torchscript"
