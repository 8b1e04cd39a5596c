"""Smaller ONNX files: fp16 weights (float16 graph, fp32 inputs/outputs) and int8 (ONNX Runtime quantization).

* ``int8-dynamic``: ``quantize_dynamic`` (int8 weights, activations quantized at run time; no data needed).
* ``int8-static``: ``quantize_static`` in QDQ format with per-channel weights, calibrated on a few batches.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["QUANT_MODES", "quantize_onnx", "to_fp16"]

QUANT_MODES = ("fp16", "int8-dynamic", "int8-static")


def to_fp16(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(dst))
    return Path(dst)


class _Batches:
    """onnxruntime ``CalibrationDataReader`` over an iterable of NCHW float arrays."""

    def __init__(self, input_name: str, batches: Iterable[np.ndarray], batch: int | None = None) -> None:
        self.input_name = input_name
        if batch:  # a model with a fixed batch size: feed the calibration images in slices of that size
            batches = (b[i:i + batch] for b in batches for i in range(0, len(b) - batch + 1, batch))
        self._it = iter(batches)

    def get_next(self):
        batch = next(self._it, None)
        return None if batch is None else {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)}

    def rewind(self):  # not needed for MinMax calibration
        pass


def _preprocess(src: Path, work: Path) -> Path:
    """Shape inference and graph clean-up that ORT recommends before quantization (skipped if it fails)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out = work / "pre.onnx"
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints shape protos
            quant_pre_process(str(src), str(out), skip_symbolic_shape=True)
        return out
    except Exception:
        return src


def quantize_onnx(
    src: str | os.PathLike, dst: str | os.PathLike, mode: str = "int8-dynamic",
    calibration: Iterable[np.ndarray] | None = None,
) -> Path:
    """Write a quantized copy of the fp32 ONNX file ``src`` at ``dst``."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    if mode not in QUANT_MODES:
        raise ValueError(f"unknown quantization {mode!r}; expected one of {QUANT_MODES}")
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if mode == "fp16":
        return to_fp16(src, dst)
    with tempfile.TemporaryDirectory(prefix="emov2-quant-") as tmp:
        pre = _preprocess(Path(src), Path(tmp))
        if mode == "int8-dynamic":
            quantize_dynamic(str(pre), str(dst), weight_type=QuantType.QInt8, per_channel=True)
            return dst
        if calibration is None:
            raise ValueError("int8-static needs calibration batches")
        import onnx

        graph_input = onnx.load(str(pre), load_external_data=False).graph.input[0]
        batch_dim = graph_input.type.tensor_type.shape.dim[0]
        fixed_batch = batch_dim.dim_value if batch_dim.HasField("dim_value") else None
        reader = _Batches(graph_input.name, calibration, fixed_batch)
        CalibrationDataReader.register(_Batches)
        quantize_static(
            str(pre), str(dst), reader, quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
        )
    return dst
