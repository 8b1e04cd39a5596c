"""Fused inference: every BatchNorm and layer scale folded, same outputs (float32, relative 1e-5)."""

import pytest
import timm
import torch
from timm.layers import LayerScale2d

import emov2
import emov2.layers
from emov2.models.official import from_official, to_official

from .reference import seeded_weights


def _sensitive(name, **kwargs):
    model = emov2.create_model(name, **kwargs).eval()
    sd = seeded_weights(to_official(model.state_dict()), seed=0)
    model.load_state_dict({k: v.float() for k, v in from_official(sd).items()})
    return model


@pytest.mark.parametrize("name", emov2.list_models())
def test_reparameterize_equal_outputs(name):
    model = _sensitive(name)
    fused = emov2.reparameterize(model)
    assert fused is not model and not fused.training
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, LayerScale2d)) for m in fused.modules())
    assert sum(p.numel() for p in fused.parameters()) < sum(p.numel() for p in model.parameters())
    for hw in ((64, 64), (97, 131)):
        x = torch.randn(2, 3, *hw)
        with torch.no_grad():
            ref, out = model(x), fused(x)
        assert ((out - ref).abs().max() / ref.abs().max()).item() <= 1e-5


def test_timm_walker_and_features_only():
    model = _sensitive("emov2_1m", window_size=10)
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        torch.testing.assert_close(timm.utils.reparameterize_model(model)(x), model(x), rtol=1e-5, atol=1e-5)
    backbone = timm.create_model("emov2_1m", features_only=True, window_size=10).eval()
    body = {k.replace("stages.", "stages_", 1): v for k, v in model.state_dict().items()
            if not k.startswith(("norm.", "head."))}
    backbone.load_state_dict(body)  # strict: every key of the features model is filled
    fused = emov2.reparameterize(backbone)
    with torch.no_grad():
        for a, b in zip(backbone(x), fused(x), strict=True):
            assert ((a - b).abs().max() / a.abs().max()).item() <= 1e-5
