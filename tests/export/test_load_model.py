"""`emov2 export` rebuilds a trained checkpoint as trained (window size and classes from its sidecar)."""

import pytest
import torch

import emov2
from emov2.export import perturb_
from emov2.export.api import load_model
from emov2.train.checkpoint import save_best


@pytest.fixture
def trained_window2(tmp_path):
    model = perturb_(emov2.create_model("emov2_1m", num_classes=3, window_size=2), seed=0).eval()
    info = {"variant": "emov2_1m", "classes": ["a", "b", "c"], "img_size": 32, "window_size": 2}
    save_best(model.state_dict(), tmp_path / "best.safetensors", info)
    return model, tmp_path / "best.safetensors"


def test_sidecar_window_size_is_used(trained_window2):
    model, path = trained_window2
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        loaded = load_model("emov2_1m", path)(x)
        default_window = emov2.create_model("emov2_1m", num_classes=3, checkpoint=path).eval()(x)
    torch.testing.assert_close(loaded, ref)
    assert (default_window - ref).abs().max() > 1e-3  # the window size matters: ignoring it would be wrong


def test_sidecar_contradictions_are_errors(trained_window2):
    _, path = trained_window2
    with pytest.raises(ValueError, match="holds emov2_1m, not emov2_2m"):
        load_model("emov2_2m", path)
    with pytest.raises(ValueError, match="predicts 3 classes, not 10"):
        load_model("emov2_1m", path, num_classes=10)
