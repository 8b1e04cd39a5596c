"""The download-size table: each file holds what its column says, checked by reading the file back."""

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from safetensors.torch import load_file

import emov2
from emov2.export.sizes import size_row, size_table_markdown


def _initializer_dtypes(path) -> dict[str, int]:
    """Bytes of the ONNX file's weights per element type (read independently of the exporter)."""
    out: dict[str, int] = {}
    for init in onnx.load(path).graph.initializer:
        arr = numpy_helper.to_array(init)
        out[arr.dtype.name] = out.get(arr.dtype.name, 0) + arr.nbytes
    return out


def test_size_files_hold_what_their_columns_say(tmp_path):
    model = emov2.create_model("emov2_1m").eval()
    row = size_row("emov2_1m", model, tmp_path, img_size=64, exporter="torchscript")
    files = row["files"]
    n = sum(p.numel() for p in model.parameters())
    assert row["params"] == n
    fp32, fp16 = load_file(files["safetensors_fp32"]), load_file(files["safetensors_fp16"])
    assert all(torch.equal(fp32[k], v) for k, v in model.state_dict().items())  # the real weights, unchanged
    assert {v.dtype for k, v in fp16.items() if v.is_floating_point()} == {torch.float16}
    assert torch.allclose(fp16["head.weight"].float(), fp32["head.weight"], atol=1e-3)
    w32, w16, w8 = (_initializer_dtypes(files[k]) for k in ("onnx_fp32", "onnx_fp16", "onnx_int8"))
    assert w32.get("float32", 0) >= 0.95 * 4 * n  # every weight stored as float32 (folded BN may add a little)
    assert w16.get("float16", 0) >= 0.95 * 2 * n and w16.get("float32", 0) < 0.05 * 4 * n
    assert w8.get("int8", 0) >= 0.7 * n  # per-channel int8 weights for the convs and matmuls
    assert row["onnx_int8"] < 0.45 * row["onnx_fp32"] and row["onnx_fp16"] < 0.6 * row["onnx_fp32"]
    table = size_table_markdown([row])
    assert f"| emov2_1m | {n:,} |" in table and f"{row['onnx_int8'] / 1e6:.2f}" in table
    assert np.isfinite(list(w8.values())).all()
