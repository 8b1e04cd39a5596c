"""Download-size table: the bytes of real files, fp32 / fp16 / int8, per model.

Weights alone: safetensors fp32 and fp16. Deployable graphs: ONNX fp32, fp16 (float16 weights) and int8
(ONNX Runtime dynamic quantization, per-channel int8 weights). Every number is ``os.path.getsize`` of a file
written here, so the table can be checked against the folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from .onnx import export_onnx
from .quantize import quantize_onnx

__all__ = ["SIZE_COLUMNS", "size_row", "size_table_markdown"]

SIZE_COLUMNS = ("safetensors_fp32", "safetensors_fp16", "onnx_fp32", "onnx_fp16", "onnx_int8")


def size_row(name: str, model: nn.Module, out_dir: str | os.PathLike, img_size: int = 224,
             exporter: str = "auto") -> dict:
    """Write the five files for ``model`` under ``out_dir`` and return their sizes in bytes (plus paths)."""
    from ..models import count_params, save_safetensors

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sd = model.state_dict()
    files = {
        "safetensors_fp32": out / f"{name}_fp32.safetensors",
        "safetensors_fp16": out / f"{name}_fp16.safetensors",
        "onnx_fp32": out / f"{name}_fp32.onnx",
        "onnx_fp16": out / f"{name}_fp16.onnx",
        "onnx_int8": out / f"{name}_int8.onnx",
    }
    save_safetensors(sd, files["safetensors_fp32"], {"variant": name})
    save_safetensors({k: v.half() if v.is_floating_point() else v for k, v in sd.items()},
                     files["safetensors_fp16"], {"variant": name, "dtype": "float16"})
    export_onnx(model, files["onnx_fp32"], img_size=img_size, dynamic_batch=True, exporter=exporter)
    quantize_onnx(files["onnx_fp32"], files["onnx_fp16"], "fp16")
    quantize_onnx(files["onnx_fp32"], files["onnx_int8"], "int8-dynamic")
    row = {"model": name, "params": count_params(model)}
    row.update({k: os.path.getsize(p) for k, p in files.items()})
    row["files"] = {k: str(p) for k, p in files.items()}
    return row


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f}"


def size_table_markdown(rows: list[dict]) -> str:
    lines = ["| model | params | safetensors fp32 MB | safetensors fp16 MB | ONNX fp32 MB | ONNX fp16 MB | "
             "ONNX int8 MB |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['params']:,} | " + " | ".join(_mb(r[c]) for c in SIZE_COLUMNS) + " |")
    return "\n".join(lines)


