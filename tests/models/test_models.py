"""Every registered model: forward, backward, features, odd sizes, parameter and MAC counts (timm-style)."""

import pytest
import timm
import torch

import emov2
from emov2.models import VARIANTS, count_macs, count_params

MODELS = emov2.list_models()
EXPECTED_PARAMS = {  # the exact counts (official code, 1000 classes)
    "emov2_1m": 1_460_844,
    "emov2_2m": 2_384_312,
    "emov2_5m": 5_126_440,
    "emov2_20m": 20_195_208,
    "emov2_50m": 49_815_560,
}


def _hand_size(n: int, stages: int) -> int:
    """Side after the stem and ``stages`` stride-2 stages (padding k//2: ceil division)."""
    for _ in range(stages + 1):
        n = (n + 1) // 2
    return n


@pytest.mark.parametrize("name", MODELS)
def test_param_count_exact(name):
    assert count_params(emov2.create_model(name)) == EXPECTED_PARAMS[name]


@pytest.mark.parametrize("name", MODELS)
def test_macs_close_to_paper(name):
    macs = count_macs(emov2.create_model(name), (3, 224, 224), fvcore_style=True)
    assert macs == VARIANTS[name].macs_224  # the number emov2.get_model_info reports
    macs /= 1e6
    paper = VARIANTS[name].paper_macs_m
    assert abs(macs - paper) / paper <= 0.02, f"{name}: {macs:.1f}M vs paper {paper}M"


def test_macs_attention_modes_match_paper_ablation():
    # paper.md §1.6 (fvcore, 5M skeleton): conv operator everywhere 802.2M, single-window attention 967.1M
    for attention, paper in (("none", 802.2), ("remote", 967.1), ("close", 967.1)):
        macs = count_macs(emov2.create_model("emov2_5m", attention=attention), fvcore_style=True) / 1e6
        assert abs(macs - paper) < 0.1, (attention, macs)
    assert count_params(emov2.create_model("emov2_5m", attention="none")) == 4_381_352


@pytest.mark.parametrize("name", MODELS)
def test_forward_backward(name):
    model = emov2.create_model(name, num_classes=7)
    x = torch.randn(2, 3, 64, 64)
    y = model(x)
    assert isinstance(y, torch.Tensor) and y.shape == (2, 7)
    y.logsumexp(1).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, missing
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("hw", [(97, 131), (33, 47), (16, 16)])
def test_odd_sizes(name, hw):
    model = emov2.create_model(name).eval()
    with torch.no_grad():
        feats = model.forward_features(torch.randn(1, 3, *hw))
    assert feats.shape == (1, model.num_features, _hand_size(hw[0], 4), _hand_size(hw[1], 4))


@pytest.mark.parametrize("name", MODELS)
def test_features_only(name):
    model = timm.create_model(name, features_only=True)
    widths = VARIANTS[name].embed_dims
    assert model.feature_info.reduction() == [2, 4, 8, 16, 32]
    assert model.feature_info.channels() == [widths[0] // 2, *widths]
    outs = model(torch.randn(1, 3, 97, 131))
    # hand-computed for 97x131: 49x66, 25x33, 13x17, 7x9, 4x5
    expected = [(49, 66), (25, 33), (13, 17), (7, 9), (4, 5)]
    assert [tuple(o.shape[-2:]) for o in outs] == expected
    assert [o.shape[1] for o in outs] == model.feature_info.channels()


def test_features_out_indices_and_window():
    model = timm.create_model("emov2_5m", features_only=True, out_indices=(2, 4), window_size=10)
    outs = model(torch.randn(1, 3, 64, 96))
    assert [tuple(o.shape[1:]) for o in outs] == [(72, 8, 12), (288, 2, 3)]
    assert model.feature_info.reduction() == [8, 32]
