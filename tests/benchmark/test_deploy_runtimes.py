"""The deployment runtimes of `emov2 bench --runtimes`: each one runs and matches eager fp32, and an export with one
layer changed fails the parity check instead of being timed. ExecuTorch cases run only with the mobile extra."""

import copy

import pytest
import torch

import emov2
from emov2.benchmark import BenchConfig, parse_models, run_benchmark
from emov2.benchmark.parity import INT8_TOLERANCE, ParityError, check_runtime, parity_tolerance
from emov2.benchmark.runners import make_ort_infer, make_pte_infer
from emov2.export import perturb_
from emov2.export.inputs import calibration_images

BROKEN = "stages.3.blocks.0.dw.conv"  # negated in the exported copy: logits move by ~0.7 of their max


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _model(**kwargs):
    return perturb_(emov2.create_model("test_emov2", **kwargs)).eval()


def _break(model):
    """A copy with one depthwise conv negated (what a wrong export of one layer would compute)."""
    broken = copy.deepcopy(model)
    with torch.no_grad():
        dict(broken.named_modules())[BROKEN].weight.neg_()
    return broken


def _broken_exporter(monkeypatch, module, name):
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda model, *a, **k: real(_break(model), *a, **k))


@pytest.mark.parametrize("int8", [False, True], ids=["onnx", "onnx-int8"])
def test_onnx_runtimes_match_eager(tmp_path, int8):
    model, images = _model(), calibration_images(32, n=16)
    step = make_ort_infer(model, batch=1, img_size=32, path=tmp_path / "m.onnx", threads=1, exporter="torchscript",
                          calibration=images if int8 else None)
    assert step()[0].shape == (1, 1000)
    p = check_runtime(model, step.run, images, tolerance=parity_tolerance("onnx-int8" if int8 else "onnx"))
    if int8:  # quantisation noise, well inside the tolerance, and the convolutions' weights are INT8 (QDQ)
        import onnx

        assert 1e-4 < p["rel"] < INT8_TOLERANCE / 2, p
        graph = onnx.load(str(tmp_path / "m.onnx")).graph
        assert sum(n.op_type == "QuantizeLinear" for n in graph.node) > 10
        assert sum(t.data_type == onnx.TensorProto.INT8 and len(t.dims) == 4 for t in graph.initializer) > 10
    else:
        assert p["rel"] < 1e-5 and p["top1_agree"] == 100, p


@pytest.mark.parametrize("int8", [False, True], ids=["onnx", "onnx-int8"])
def test_onnx_runtime_with_a_changed_layer_fails_parity(tmp_path, monkeypatch, int8):
    import emov2.export.onnx as onnx_export

    _broken_exporter(monkeypatch, onnx_export, "export_onnx")
    model, images = _model(), calibration_images(32, n=16)
    step = make_ort_infer(model, batch=1, img_size=32, path=tmp_path / "m.onnx", threads=1, exporter="torchscript",
                          calibration=images if int8 else None)
    with pytest.raises(ParityError, match="parity vs eager fp32 failed"):
        check_runtime(model, step.run, images, tolerance=parity_tolerance("onnx-int8" if int8 else "onnx"))


def test_bench_reports_a_broken_export_instead_of_timing_it(monkeypatch):
    import emov2.export.onnx as onnx_export

    _broken_exporter(monkeypatch, onnx_export, "export_onnx")
    cfg = BenchConfig(models=parse_models("test_emov2"), img_size=32, runtimes="eager,onnx", threads=1, warmup=1,
                      reps=1, onnx_exporter="torchscript")
    rows, _ = run_benchmark(cfg, log=lambda m: None)
    eager, onnx = rows
    assert eager["config"] == "eager" and eager["median_ms"] > 0
    assert onnx["config"] == "onnx" and "median_ms" not in onnx
    assert onnx["error"].startswith("ParityError: parity vs eager fp32 failed"), onnx


def test_a_missing_runtime_package_is_one_line(monkeypatch, capsys):
    import emov2.export.executorch as et
    from emov2.cli.main import main

    monkeypatch.setattr(et, "executorch_available", lambda: "executorch is not usable (pip install "
                                                            "'emov2[mobile]'): ImportError: No module named x")
    assert main(["bench", "--models", "test_emov2", "--img-size", "32", "--runtimes", "eager,pte"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "emov2[mobile]" in err[0] and "Traceback" not in err[0]


def test_pte_refuses_padded_windows_before_lowering(tmp_path):
    pytest.importorskip("executorch")
    from emov2.export.executorch import export_pte, padded_windows

    assert padded_windows(_model(window_size=2), 64) == []
    assert padded_windows(_model(), 64) == ["stages.2.blocks.1.op: map 4x4, window 7x7",
                                            "stages.3.blocks.1.op: map 2x2, window 7x7"]
    with pytest.raises(RuntimeError, match="padded attention windows"):
        export_pte(_model(), tmp_path / "m.pte", 64)
    assert not (tmp_path / "m.pte").exists()


@pytest.mark.parametrize("int8", [False, True], ids=["pte", "pte-int8"])
def test_pte_runtimes_match_eager(tmp_path, int8):
    pytest.importorskip("executorch")
    model, images = _model(window_size=2), calibration_images(64, n=8)  # window 2: the 4x4 / 2x2 maps unpadded
    step = make_pte_infer(model, batch=1, img_size=64, path=tmp_path / "m.pte", threads=1,
                          calibration=images if int8 else None)
    assert tuple(step().shape) == (1, 1000)
    p = check_runtime(model, step.run, images, tolerance=parity_tolerance("pte-int8" if int8 else "pte"))
    if int8:
        assert 1e-4 < p["rel"] < INT8_TOLERANCE / 2, p
    else:
        assert p["rel"] < 1e-5 and p["top1_agree"] == 100, p
    ops = step.profile_totals(2)  # ETDump: XNNPACK's own operators
    assert any(op.startswith("Convolution (NHWC, " + ("QC8" if int8 else "F32")) for op in ops), sorted(ops)


def test_pte_with_a_changed_layer_fails_parity(tmp_path, monkeypatch):
    pytest.importorskip("executorch")
    import emov2.export.executorch as et

    _broken_exporter(monkeypatch, et, "export_program")
    model, images = _model(window_size=2), calibration_images(64, n=4)
    step = make_pte_infer(model, batch=1, img_size=64, path=tmp_path / "m.pte", threads=1)
    with pytest.raises(ParityError, match="parity vs eager fp32 failed"):
        check_runtime(model, step.run, images, tolerance=parity_tolerance("pte"))
