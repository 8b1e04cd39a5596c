"""torch.compile without graph breaks, torch.export, ONNX with onnxruntime parity."""

import numpy as np
import pytest
import torch

import emov2
from emov2.models.official import from_official, to_official

from .reference import seeded_weights


def _sensitive_model(name="emov2_1m"):
    """A model whose output depends on every layer (layer scales ~ N(0, 0.25) instead of 1e-6)."""
    model = emov2.create_model(name).eval()
    sd = seeded_weights(to_official(model.state_dict()), seed=0)
    model.load_state_dict({k: v.float() for k, v in from_official(sd).items()})
    return model


def test_compile_fullgraph_no_graph_breaks():
    model = _sensitive_model()
    x = torch.randn(2, 3, 64, 96)
    compiled = torch.compile(model, fullgraph=True, backend="eager")  # fullgraph raises on any graph break
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x))


def test_torch_export_dynamic_batch():
    model = _sensitive_model()
    x = torch.randn(2, 3, 64, 96)
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(model, (x,), dynamic_shapes={"x": {0: batch}})
    x5 = torch.randn(5, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(program.module()(x5), model(x5))


def test_onnx_runtime_parity():
    ort = pytest.importorskip("onnxruntime")
    model = _sensitive_model()
    x = torch.randn(2, 3, 80, 112)
    batch = torch.export.Dim("batch", min=1, max=64)
    onnx_program = torch.onnx.export(model, (x,), dynamo=True, dynamic_shapes={"x": {0: batch}}, verbose=False)
    session = ort.InferenceSession(onnx_program.model_proto.SerializeToString())
    for bs in (1, 3):
        xb = torch.randn(bs, 3, 80, 112)
        (y,) = session.run(None, {session.get_inputs()[0].name: xb.numpy()})
        with torch.no_grad():
            ref = model(xb).numpy()
        assert np.abs(ref).max() > 1  # the logits carry signal
        assert np.abs(y - ref).max() <= 1e-4
