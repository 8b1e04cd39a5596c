"""torch.fx symbolic tracing, TorchScript and FX feature extraction: equal to eager, forward and backward, for
every variant at a small size (the kernels' own tests cover the sizes)."""

import pytest
import timm
import torch
from torchvision.models.feature_extraction import create_feature_extractor

import emov2
from emov2.models.official import from_official, to_official

from .reference import seeded_weights

ALL = [*emov2.list_models(), "test_emov2"]


def _model(name, **kwargs):
    """Seeded weights (layer scales ~ N(0, 0.25)) so that every layer shows in the output."""
    model = emov2.create_model(name, num_classes=10, **kwargs)
    sd = seeded_weights(to_official(model.state_dict()), seed=0)
    model.load_state_dict({k: v.float() for k, v in from_official(sd).items()})
    return model


def _forward_backward(fn, model, x):
    model.zero_grad()
    y = fn(x)
    (y.square().mean()).backward()
    return [y.detach()] + [p.grad.clone() for p in model.parameters()]


def _assert_same(got, ref):
    for g, r in zip(got, ref, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_fx_symbolic_trace_forward_backward(name):
    model = _model(name).train()
    traced = torch.fx.symbolic_trace(model)
    x = torch.randn(2, 3, 48, 64)
    torch.manual_seed(1)
    ref = _forward_backward(model, model, x)
    torch.manual_seed(1)  # same drop-path draws
    _assert_same(_forward_backward(traced, model, x), ref)


@pytest.mark.parametrize("name", ALL)
def test_torchscript_forward_backward(name):
    model = _model(name, drop_path_rate=0.0).train()
    scripted = torch.jit.script(model)
    x = torch.randn(2, 3, 48, 64)
    _assert_same(_forward_backward(scripted, model, x), _forward_backward(model, model, x))


@pytest.mark.parametrize("impl", ["reference", "gather", "permute"])
def test_every_attention_kernel_scripts_and_traces(impl):
    """Several windows, padded (window 3 on the 6x8 and 3x4 maps of a 96x128 input)."""
    model = _model("test_emov2", attn_impl=impl, window_size=3).eval()
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        ref = model(x)
        torch.testing.assert_close(torch.jit.script(model)(x), ref, rtol=1e-5, atol=1e-6)
        if impl != "reference":  # the readable reference loops over Python shape values: eager / TorchScript only
            torch.testing.assert_close(torch.fx.symbolic_trace(model)(x), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["test_emov2", "emov2_1m"])
def test_feature_extractors_match_features_only(name):
    x = torch.randn(1, 3, 97, 131)
    plain = timm.create_model(name, features_only=True).eval()
    fx = timm.create_model(name, features_only=True, feature_cls="fx").eval()
    model = _model(name).eval()
    sd = {k: v for k, v in model.state_dict().items() if not k.startswith(("norm.", "head."))}
    plain.load_state_dict({k.replace("stages.", "stages_", 1): v for k, v in sd.items()})  # strict: every key
    fx.load_state_dict({f"graph_module.{k}": v for k, v in sd.items()})
    nodes = {"stem": "s0", **{f"stages.{i}": f"s{i + 1}" for i in range(4)}}
    tv = create_feature_extractor(model, return_nodes=nodes)
    with torch.no_grad():
        ref = plain(x)
        outs = {"timm fx": fx(x), "torchvision": list(tv(x).values())}
    assert [tuple(r.shape[-2:]) for r in ref] == [(49, 66), (25, 33), (13, 17), (7, 9), (4, 5)]
    for label, out in outs.items():
        assert len(out) == len(ref), label
        for a, b in zip(out, ref, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=label)
