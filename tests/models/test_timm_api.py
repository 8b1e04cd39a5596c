"""The timm model API: configs, heads, intermediates, checkpointing, optimizer groups, registry."""

import pytest
import timm
import torch
from timm.optim import create_optimizer_v2
from timm.utils import reparameterize_model  # noqa: F401  (imported to make sure the walker exists)

import emov2


def test_registered_with_timm():
    assert set(emov2.list_models()) <= set(timm.list_models("emov2_*"))
    assert emov2.list_models("*5m") == ["emov2_5m"]


def test_unknown_name_lists_known_models():
    with pytest.raises(ValueError, match="emov2_1m, emov2_2m, emov2_5m, emov2_20m, emov2_50m"):
        emov2.create_model("emov2_3m")


def test_pretrained_without_checkpoint_explains():
    with pytest.raises(ValueError, match="never downloads"):
        emov2.create_model("emov2_1m", pretrained=True)


def test_pretrained_cfg():
    cfg = timm.create_model("emov2_1m").pretrained_cfg
    assert cfg["input_size"] == (3, 224, 224)
    assert cfg["crop_pct"] == 0.875 and cfg["interpolation"] == "bicubic"
    assert cfg["mean"] == timm.data.IMAGENET_DEFAULT_MEAN and cfg["std"] == timm.data.IMAGENET_DEFAULT_STD
    data_cfg = timm.data.resolve_data_config({}, model=timm.create_model("emov2_1m"))
    assert data_cfg["crop_pct"] == 0.875


def test_kwargs_reach_the_model():
    model = emov2.create_model("emov2_1m", num_classes=3, in_chans=1, window_size=8, drop_path_rate=0.1)
    assert model(torch.randn(1, 1, 64, 64)).shape == (1, 3)
    attn = model.stages[2].blocks[1].op
    assert attn.window_size == 8 and attn.mode == "spanning"
    assert model.stages[3].blocks[-1].drop_path.drop_prob == pytest.approx(0.1)
    assert emov2.create_model("emov2_1m", num_classes=None).num_classes == 1000  # None is ignored, as in timm


@pytest.mark.parametrize("attention", ["spanning", "remote", "close", "none"])
def test_attention_modes(attention):
    model = emov2.create_model("emov2_1m", attention=attention).eval()
    op = model.stages[2].blocks[1].op
    assert (type(op).__name__ == "ConvExpand") == (attention == "none")
    with torch.no_grad():
        assert model(torch.randn(1, 3, 80, 80)).shape == (1, 1000)


def test_spanning_differs_from_each_single_partition():
    x = torch.randn(1, 80, 14, 21)
    outs = {}
    for mode in ("spanning", "remote", "close"):
        torch.manual_seed(0)
        attn = emov2.WindowAttention(80, 240, mode=mode, dim_head=20, window_size=7).eval()
        outs[mode] = attn(x)
    torch.testing.assert_close(outs["spanning"], outs["remote"] + outs["close"])
    assert not torch.allclose(outs["remote"], outs["close"])


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown attention"):
        emov2.create_model("emov2_1m", attention="global")
    with pytest.raises(ValueError, match="4 values"):
        emov2.create_model("emov2_1m", window_size=(7, 7))


def test_heads_and_reset_classifier():
    model = emov2.create_model("emov2_2m").eval()
    x = torch.randn(2, 3, 64, 64)
    feats = model.forward_features(x)
    assert feats.shape == (2, 200, 2, 2)
    assert model.forward_head(feats, pre_logits=True).shape == (2, 200)
    torch.testing.assert_close(model.forward_head(feats), model(x))
    model.reset_classifier(5)
    assert model(x).shape == (2, 5) and model.get_classifier().out_features == 5
    model.reset_classifier(0)
    assert model(x).shape == (2, 200)
    model.reset_classifier(0, global_pool="")
    assert model(x).shape == (2, 200, 2, 2)


def test_forward_intermediates():
    model = emov2.create_model("emov2_1m").eval()
    x = torch.randn(1, 3, 97, 131)
    final, inter = model.forward_intermediates(x)
    assert [tuple(t.shape[-2:]) for t in inter] == [(49, 66), (25, 33), (13, 17), (7, 9), (4, 5)]
    torch.testing.assert_close(final, model.forward_features(x))
    only = model.forward_intermediates(x, indices=[1, 3], intermediates_only=True)
    torch.testing.assert_close(only[0], inter[1])
    torch.testing.assert_close(only[1], inter[3])
    last_two = model.forward_intermediates(x, indices=2, norm=True, intermediates_only=True)
    torch.testing.assert_close(last_two[1], final)  # norm applied to the last stage
    early = model.forward_intermediates(x, indices=[2], stop_early=True, intermediates_only=True)
    torch.testing.assert_close(early[0], inter[2])
    nhwc = model.forward_intermediates(x, indices=[0], output_fmt="NHWC", intermediates_only=True)
    assert nhwc[0].shape == (1, 49, 66, 16)


def test_prune_intermediate_layers():
    model = emov2.create_model("emov2_1m").eval()
    x = torch.randn(1, 3, 64, 64)
    ref = model.forward_intermediates(x, indices=[1, 2], intermediates_only=True)
    model.prune_intermediate_layers([1, 2])
    assert len(model.stages) == 2 and isinstance(model.head, torch.nn.Identity)
    out = model.forward_intermediates(x, indices=[1, 2], intermediates_only=True)
    for a, b in zip(ref, out, strict=True):
        torch.testing.assert_close(a, b)


def test_grad_checkpointing_same_result():
    model = emov2.create_model("emov2_1m", num_classes=4, drop_path_rate=0.1)
    x = torch.randn(2, 3, 64, 64)
    torch.manual_seed(1)
    model(x).sum().backward()
    ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    model.set_grad_checkpointing(True)
    assert all(s.grad_checkpointing for s in model.stages)
    torch.manual_seed(1)  # same drop-path draws: checkpointing replays the RNG state on recompute
    model(x).sum().backward()
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, ref[n], msg=n)


def test_no_weight_decay_and_optimizer_groups():
    model = emov2.create_model("emov2_1m")
    nwd = model.no_weight_decay()
    assert nwd and all(n.endswith("layer_scale.gamma") for n in nwd)
    opt = create_optimizer_v2(model, "adamw", lr=1e-3, weight_decay=0.05)
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(model.get_parameter(names[i]).ndim > 1 for i in decayed)  # biases, norms, gammas: no decay
    assert len(decayed) == sum(p.ndim > 1 for p in model.parameters())


def test_group_matcher_layer_decay():
    model = emov2.create_model("emov2_1m")
    opt = create_optimizer_v2(model, "adamw", lr=1e-3, layer_decay=0.8)
    scales = sorted({g["lr_scale"] for g in opt.param_groups})
    assert len(scales) >= 10  # stem, every block and the head get their own depth
