"""The download-size table reports the bytes of the files it wrote."""

import os

import emov2
from emov2.export.sizes import SIZE_COLUMNS, size_row, size_table_markdown


def test_size_row_equals_file_sizes(tmp_path):
    model = emov2.create_model("emov2_1m").eval()
    row = size_row("emov2_1m", model, tmp_path, img_size=64, exporter="torchscript")
    for col in SIZE_COLUMNS:
        assert row[col] == os.path.getsize(row["files"][col]) > 0
    n = row["params"]
    assert abs(row["safetensors_fp32"] - 4 * n) < 0.05 * 4 * n  # 4 bytes a parameter (+ buffers, header)
    assert abs(row["safetensors_fp16"] - 2 * n) < 0.05 * 2 * n
    assert row["onnx_fp16"] < 0.6 * row["onnx_fp32"]
    assert row["onnx_int8"] < 0.45 * row["onnx_fp32"]
    table = size_table_markdown([row])
    assert f"{row['onnx_int8'] / 1e6:.2f}" in table
