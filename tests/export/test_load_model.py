"""`emov2 export` rebuilds a trained artifact as trained (window size and classes from its sidecar)."""

import pytest
import torch

import emov2
from emov2.engine.artifact import write_artifact
from emov2.export import perturb_
from emov2.export.api import load_model


@pytest.fixture
def trained_window2(tmp_path):
    model = perturb_(emov2.create_model("emov2_1m", num_classes=3, window_size=2), seed=0).eval()
    info = {"task": "cls", "arch": "emov2_1m", "model_kwargs": {"num_classes": 3, "window_size": 2},
            "num_classes": 3, "classes": ["a", "b", "c"], "img_size": 32, "window_size": 2}
    write_artifact(model.state_dict(), tmp_path / "best.safetensors", info)
    return model, tmp_path / "best.safetensors"


def test_sidecar_window_size_is_used(trained_window2):
    model, path = trained_window2
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        loaded = load_model("emov2_1m", path)(x)
        by_artifact_alone = load_model(None, path)(x)
        default_window = emov2.create_model("emov2_1m", num_classes=3).eval()
        default_window.load_state_dict(model.state_dict())
        other = default_window(x)
    torch.testing.assert_close(loaded, ref, rtol=0, atol=0)
    torch.testing.assert_close(by_artifact_alone, ref, rtol=0, atol=0)
    assert (other - ref).abs().max() > 1e-3  # the window size matters: ignoring it would be wrong


def test_sidecar_contradictions_are_errors(trained_window2):
    _, path = trained_window2
    with pytest.raises(ValueError, match="holds emov2_1m, not emov2_2m"):
        load_model("emov2_2m", path)
    with pytest.raises(ValueError, match="predicts 3 classes, not 10"):
        load_model("emov2_1m", path, num_classes=10)
