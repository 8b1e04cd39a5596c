"""ONNX export checked with ONNX Runtime: every registered model, dynamic batch, real photos."""

import pytest
import torch

import emov2
from emov2.export import (
    check_parity,
    export_onnx,
    export_program,
    ort_runner,
    parity_inputs,
    perturb_,
    random_images,
)

SIZE = 64  # small input keeps the whole module fast; stage 3/4 maps are single windows here
TOL = 1e-4


def _model(name: str) -> torch.nn.Module:
    return perturb_(emov2.create_model(name), seed=1).eval()


@pytest.mark.parametrize("name", emov2.list_models())
def test_onnx_parity_every_model(name, tmp_path, program_1m):
    # dynamo (the default path) for the smallest model, from the shared torch.export program; TorchScript for
    # the rest (the same graph, several times faster to export on 2 cores)
    path = tmp_path / f"{name}.onnx"
    if name == "emov2_1m":
        model, program = program_1m
        assert export_onnx(program, path) == "dynamo"
    else:
        model = _model(name)
        assert export_onnx(model, path, img_size=SIZE, dynamic_batch=True, exporter="torchscript") == "torchscript"
    import onnx

    proto = onnx.load(str(path))
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    if name == "emov2_1m":  # the default opset (20) writes GELU as one Gelu op, not Div/Erf/Add/Mul/Mul
        ops = {node.op_type for node in proto.graph.node}
        assert "Gelu" in ops and "Erf" not in ops, sorted(ops)
    inputs = parity_inputs(SIZE, batch=2)
    assert "real" in inputs  # scikit-image photos are part of the check
    inputs["batch 5"] = random_images(5, SIZE, seed=3)  # a batch size other than the traced one
    results = check_parity(model, ort_runner(path), inputs)
    for r in results:
        assert r.ref_max_abs > 0.1, f"reference output too small to test parity: {r}"
        assert r.max_abs <= TOL, str(r)


def test_dynamic_hw(tmp_path, program_1m):
    """One graph for every size: window counts and padding are computed in-graph from the symbolic H/W."""
    model = program_1m[0]
    program = export_program(model, SIZE, dynamic_batch=True, dynamic_hw=True)
    export_onnx(program, tmp_path / "m.onnx")
    run = ort_runner(tmp_path / "m.onnx")
    for hw in ((SIZE, SIZE), (96, 128), (37, 90), (224, 224)):  # (37, 90): padded windows
        (r,) = check_parity(model, run, {f"{hw}": random_images(1, hw)})
        assert r.max_abs <= TOL, str(r)


def test_torchscript_refuses_dynamic_hw(tmp_path):
    with pytest.raises(ValueError, match="dynamo"):
        export_onnx(_model("emov2_1m"), tmp_path / "m.onnx", img_size=SIZE, dynamic_hw=True, exporter="torchscript")


def test_opset_floor(tmp_path):
    with pytest.raises(ValueError, match="opset"):
        export_onnx(_model("emov2_1m"), tmp_path / "m.onnx", opset=13)
