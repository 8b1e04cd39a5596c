"""Equality with the official code: pinned float64 logits and the official key layout."""

import pytest
import torch

import emov2
from emov2.models.official import from_official, to_official

from .reference import official_keys, reference_cases, reference_logits, seeded_weights

CASES = reference_cases()
LOGITS = reference_logits()


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_equal_official(case):
    c = CASES[case]
    model = emov2.create_model(c["model"], **c["kwargs"]).double().eval()
    official_sd = seeded_weights(to_official(model.state_dict()), c["weight_seed"])
    model.load_state_dict(from_official(official_sd))
    x = torch.randn(1, 3, *c["input_hw"], generator=torch.Generator().manual_seed(c["input_seed"]),
                    dtype=torch.float64)
    with torch.no_grad():
        y = model(x)[0]
    ref = LOGITS[case]
    rel = ((y - ref).abs().max() / ref.abs().max()).item()
    assert rel <= 1e-8, f"{case}: relative error {rel:.3e}"


@pytest.mark.parametrize("name", emov2.list_models())
def test_official_key_layout_round_trip(name):
    expected = official_keys()[name]
    model = emov2.create_model(name)
    official = to_official(model.state_dict())
    assert list(official) == list(expected)  # same keys, same order
    assert {k: list(v.shape) for k, v in official.items()} == expected
    back = from_official(official)
    assert list(back) == list(model.state_dict())
    assert all(torch.equal(back[k], v) for k, v in model.state_dict().items())


def test_from_official_strips_ddp_prefix_and_reshapes_layer_scale():
    sd = {"module.stage1.1.ls.gamma": torch.ones(1, 48, 1, 1), "module.stage3.1.norm.norm.weight": torch.ones(80)}
    out = from_official(sd)
    assert set(out) == {"stages.0.blocks.1.layer_scale.gamma", "stages.2.blocks.1.norm.weight"}
    assert out["stages.0.blocks.1.layer_scale.gamma"].shape == (48,)
