"""`emov2 export` end to end: files, parity output, user errors."""

import pytest

from emov2.cli.main import main
from emov2.export.executorch import executorch_available


def _batch_dim(path):
    import onnx

    return onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0]


def test_export_onnx_cli_dynamic_batch_by_default(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    rc = main(["export", "--model", "emov2_1m", "--format", "onnx", "--img-size", "64",
               "--exporter", "torchscript", "--check", "--output", str(out)])
    assert rc == 0 and out.is_file()
    text = capsys.readouterr().out
    assert "parity real" in text and "parity random batch 3" in text
    assert _batch_dim(out).dim_param  # a named (dynamic) batch axis


def test_export_onnx_cli_static_batch(tmp_path, capsys):
    out = tmp_path / "s.onnx"
    rc = main(["export", "--model", "test_emov2", "--img-size", "64", "--exporter", "torchscript",
               "--static-batch", "--output", str(out)])
    assert rc == 0 and _batch_dim(out).dim_value == 1


def test_export_hf_cli(tmp_path, capsys):
    out = tmp_path / "hub"
    rc = main(["export", "--model", "test_emov2", "--format", "hf", "--img-size", "64", "--check",
               "--output", str(out)])
    assert rc == 0 and (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert "max |diff| 0.00e+00" in capsys.readouterr().out


def test_export_onnx_int8_static_cli(tmp_path, capsys):
    out = tmp_path / "q.onnx"
    rc = main(["export", "--model", "emov2_1m", "--img-size", "64", "--exporter", "torchscript",
               "--quantize", "int8-static", "--check", "--output", str(out)])
    assert rc == 0 and out.is_file() and not (tmp_path / "q.fp32.onnx").exists()


@pytest.mark.parametrize("argv, message", [
    (["--model", "emov2_1m", "--dynamic-hw", "--exporter", "torchscript"], "dynamo"),
    (["--model", "emov2_1m", "--format", "pt2", "--quantize", "fp16"], "onnx only"),
    (["--model", "emov2_1m", "--format", "pte", "--dynamic-hw"], "static shapes"),
    (["--model", "emov2_1m", "--format", "hf", "--fused"], "drop --fused"),
    (["--model", "nope_xyz"], "unknown model"),
    (["--format", "onnx"], "--model or --checkpoint is required"),
])
def test_export_user_errors(argv, message, tmp_path, capsys):
    assert main(["export", "--img-size", "32", "--output", str(tmp_path / "x.onnx")] + argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(executorch_available() is None, reason="executorch is installed here")
def test_pte_without_executorch_is_a_user_error(tmp_path, capsys):
    assert main(["export", "--model", "emov2_1m", "--format", "pte", "--img-size", "32",
                 "--output", str(tmp_path / "m.pte")]) == 2
    assert "executorch is not usable" in capsys.readouterr().err
