"""Core ML (``.mlpackage``, ML program) via coremltools from a TorchScript trace (coremltools' stable path).

On Linux coremltools converts and saves, but cannot run the model: prediction needs Apple's Core ML
framework (macOS). ``coreml_runner`` therefore raises there; the converted file is still checked by reloading
its spec.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["coreml_available", "coreml_runner", "export_coreml"]


def coreml_available() -> str | None:
    """``None`` when coremltools imports, else why not (one line)."""
    try:
        import coremltools  # noqa: F401
    except Exception as e:
        return f"coremltools is not usable: {type(e).__name__}: {e}"
    return None


def export_coreml(model: nn.Module, path: str | os.PathLike, img_size: int | tuple[int, int] = 224, *,
                  batch: int = 1, fp16: bool = False) -> Path:
    problem = coreml_available()
    if problem:
        raise RuntimeError(problem)
    import coremltools as ct

    h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
    x = torch.randn(batch, 3, h, w)
    from ..layers import exportable_layers

    with torch.no_grad(), exportable_layers(model.eval().cpu()):  # plain convs, gather attention (int32 indices)
        traced = torch.jit.trace(model, x)
    try:
        mlmodel = ct.convert(
            traced, inputs=[ct.TensorType(name="input", shape=tuple(x.shape))],
            outputs=[ct.TensorType(name="logits")], convert_to="mlprogram",
            minimum_deployment_target=ct.target.iOS16,
            compute_precision=ct.precision.FLOAT16 if fp16 else ct.precision.FLOAT32,
        )
    except Exception as e:  # conversion errors surface from deep inside coremltools, in many types
        raise RuntimeError(f"coremltools {ct.__version__} could not convert the model: {type(e).__name__}: {e}") from e
    path = Path(path)
    if path.suffix != ".mlpackage":
        raise ValueError(f"Core ML ML programs are saved as .mlpackage folders, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    mlmodel.save(str(path))
    return path


def coreml_runner(path: str | os.PathLike) -> Callable[[torch.Tensor], np.ndarray]:
    if platform.system() != "Darwin":
        raise RuntimeError("Core ML models run only on macOS (coremltools cannot predict on "
                           f"{platform.system()}); the file was converted and saved")
    import coremltools as ct

    mlmodel = ct.models.MLModel(str(path))

    def run(x: torch.Tensor) -> np.ndarray:
        return mlmodel.predict({"input": x.numpy()})["logits"]

    return run
