"""timm-native registration, pretrained configs, official weights through timm's loader, the hub folder round
trip, output_stride, global_pool, deprecated fork names and the torchvision-style metadata."""

import inspect
import json
import re
import warnings

import pytest
import timm
import torch

import emov2
from emov2.models import emov2 as emov2_module
from emov2.models.official import to_official

from .reference import official_keys

NAMES = emov2.list_models()


def test_registered_under_module_emov2_with_written_entry_points():
    assert set(timm.list_models(module="emov2")) == {*NAMES, "test_emov2"}
    source = inspect.getsource(emov2_module)
    for name in [*NAMES, "test_emov2"]:  # grep-able: each entry point is a def in the model file
        assert re.search(rf"^@register_model\ndef {name}\(", source, re.M), name
        assert timm.models.model_entrypoint(name).__module__ == "emov2.models.emov2"


def test_pretrained_cfg_is_complete():
    for tag in ("emov2_5m.in1k", "emov2_5m.dist_in1k", "emov2_50m.in1k"):
        cfg = timm.models.get_pretrained_cfg(tag).to_dict()
        assert cfg["paper_ids"] == "arXiv:2412.06674"
        assert cfg["origin_url"] == "https://github.com/zhangzjn/EMOv2"
        assert cfg["test_input_size"] == (3, 224, 224) and cfg["input_size"] == (3, 224, 224)
        assert cfg["license"] and cfg["first_conv"] == "stem.conv1.conv" and cfg["classifier"] == "head"
    assert set(timm.list_models("emov2_5m*", include_tags=True)) == {"emov2_5m.in1k", "emov2_5m.dist_in1k"}
    assert timm.create_model("emov2_5m").pretrained_cfg["tag"] == "in1k"  # the default tag


def test_test_variant_is_tiny():
    model = timm.create_model("test_emov2")
    assert sum(p.numel() for p in model.parameters()) == 102_520
    assert [type(model.stages[i].blocks[-1].op).__name__ for i in range(4)] == [
        "ConvExpand", "ConvExpand", "WindowAttention", "WindowAttention"]
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


def _official_file(tmp_path, name="emov2_1m", num_classes=1000, wrap="net"):
    torch.manual_seed(7)
    net = emov2.create_model(name, num_classes=num_classes).eval()
    for p in net.parameters():
        p.data.normal_(0, 0.05)  # layer scales and norms far from their init: a wrong load shows
    sd = to_official(net.state_dict())
    assert set(sd) == set(official_keys()[name]) or num_classes != 1000
    path = tmp_path / "EMOv2_1M_224.pth"
    torch.save({wrap: {f"module.{k}": v for k, v in sd.items()}, "epoch": 300} if wrap else sd, path)
    return path, net


@pytest.mark.parametrize("wrap", ["net", None])
def test_official_checkpoint_through_timm_pretrained(tmp_path, wrap):
    path, net = _official_file(tmp_path, wrap=wrap)
    model = timm.create_model("emov2_1m", pretrained=True, pretrained_cfg_overlay=dict(file=str(path))).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), net(x))
    # a new head for another task: timm drops the classifier, the backbone still loads
    ten = timm.create_model("emov2_1m", pretrained=True, num_classes=10, pretrained_cfg_overlay=dict(file=str(path)))
    assert torch.equal(ten.stem.conv1.conv.weight, net.stem.conv1.conv.weight)
    feats = timm.create_model("emov2_1m", pretrained=True, features_only=True,
                              pretrained_cfg_overlay=dict(file=str(path)))
    assert torch.equal(feats.stages_3.blocks[1].op.qk.weight, net.stages[3].blocks[1].op.qk.weight)


def test_pretrained_without_a_file_explains():
    with pytest.raises(ValueError, match=r"pretrained_cfg_overlay=dict\(file=PATH\).*EMOv2_5M_224_KD.pth"):
        timm.create_model("emov2_5m.dist_in1k", pretrained=True)


def test_hub_folder_round_trip(tmp_path):
    model = emov2.create_model("test_emov2", num_classes=3, window_size=2).eval()
    for p in model.parameters():
        p.data.normal_(0, 0.1)
    sidecar = {"task": "cls", "arch": "test_emov2", "classes": ["cat", "dog", "eel"], "mean": [0.5, 0.4, 0.3],
               "std": [0.2, 0.2, 0.2], "img_size": 64, "window_size": 2}
    out = emov2.save_pretrained(model, tmp_path / "hub", sidecar=sidecar)
    assert sorted(f.name for f in out.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"] == "test_emov2" and config["emov2"] == sidecar
    assert config["label_names"] == sidecar["classes"] and config["model_args"]["window_size"] == 2
    assert config["pretrained_cfg"]["mean"] == sidecar["mean"] and config["pretrained_cfg"]["input_size"] == [3, 64, 64]
    assert "timm.create_model" in (out / "README.md").read_text()
    reloaded = timm.create_model(f"local-dir:{out}", pretrained=True).eval()
    x = torch.randn(2, 3, 64, 80)
    with torch.no_grad():
        assert torch.equal(reloaded(x), model(x))
    data = timm.data.resolve_data_config({}, model=reloaded)
    assert tuple(data["mean"]) == (0.5, 0.4, 0.3) and tuple(data["input_size"]) == (3, 64, 64)
    assert not any(p.name.startswith(".hub") for p in tmp_path.iterdir())  # the staging folder is gone


def test_save_pretrained_needs_a_timm_built_model(tmp_path):
    with pytest.raises(ValueError, match="timm.create_model"):
        emov2.save_pretrained(emov2.EMOv2(num_classes=2), tmp_path / "x")


@pytest.mark.parametrize("output_stride,reductions", [(32, [2, 4, 8, 16, 32]), (16, [2, 4, 8, 16, 16]),
                                                       (8, [2, 4, 8, 8, 8])])
def test_output_stride_feature_shapes(output_stride, reductions):
    model = timm.create_model("test_emov2", features_only=True, output_stride=output_stride).eval()
    assert model.feature_info.reduction() == reductions
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 96, 128))
    # hand-computed: each stride-2 step halves (ceil), the kept stages stay at the last size
    sizes = {2: (48, 64), 4: (24, 32), 8: (12, 16), 16: (6, 8), 32: (3, 4)}
    assert [tuple(o.shape[-2:]) for o in outs] == [sizes[r] for r in reductions]


def test_output_stride_dilates_the_later_depthwise_convs():
    model = emov2.create_model("emov2_1m", output_stride=8)
    s3, s4 = model.stages[2].blocks, model.stages[3].blocks
    assert s3[0].dw.conv.stride == (1, 1) and s3[0].dw.conv.dilation == (1, 1)  # timm: the first keeps dilation
    assert s3[1].dw.conv.dilation == (2, 2) and s3[1].dw.conv.padding == (4, 4)
    assert s4[0].dw.conv.dilation == (2, 2) and s4[1].dw.conv.dilation == (4, 4)
    with pytest.raises(ValueError, match="output_stride"):
        emov2.create_model("emov2_1m", output_stride=4)


def test_global_pool_empty_with_a_head_refuses():
    with pytest.raises(ValueError, match="global_pool=''.*num_classes=0"):
        emov2.create_model("test_emov2", global_pool="")
    model = emov2.create_model("test_emov2", global_pool="", num_classes=0).eval()
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 48, 2, 2)  # the unpooled map, no Linear on NCHW
    with pytest.raises(ValueError, match="num_classes=0"):
        model.reset_classifier(5)
    model.reset_classifier(5, global_pool="avg")
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 5)


def test_fork_names_are_deprecated_aliases():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = timm.create_model("emo2_1m")
    assert isinstance(model, emov2.EMOv2) and sum(p.numel() for p in model.parameters()) == 1_460_844
    assert any("deprecated" in str(w.message) for w in caught)
    assert timm.create_model("emo2_5m.dist_in1k").pretrained_cfg["tag"] == "dist_in1k"


def test_get_model_info():
    info = emov2.get_model_info("emov2_5m")
    assert info["num_params"] == 5_126_440
    assert info["metrics"]["ImageNet-1K"] == {"acc@1": 79.4, "acc@5": 94.408}
    assert info["metrics"]["ImageNet-1K (KD)"]["acc@1"] == 80.8
    assert "300 epochs" in info["recipe"] and "TResNet" in info["recipe_kd"]
    assert info["weights"] == {"emov2_5m.in1k": "EMOv2_5M_224.pth", "emov2_5m.dist_in1k": "EMOv2_5M_224_KD.pth"}
    assert emov2.get_model_info("emov2_50m")["metrics"]["ImageNet-1K"]["acc@5"] is None  # no published log
    with pytest.raises(ValueError, match="unknown model"):
        emov2.get_model_info("emov2_3m")


def test_exportable_at_construction_exports_dynamic_sizes():
    """timm.create_model(..., exportable=True) (timm's set_layer_config) builds portable layers: plain convs and the
    gather attention, which torch.export takes with symbolic height and width."""
    model = timm.create_model("test_emov2", exportable=True, window_size=3).eval()
    attn = [m for m in model.modules() if isinstance(m, emov2.WindowAttention)]
    assert attn and all(m.impl == "gather" and m.qk.exportable for m in attn)
    assert all(m.exportable for m in model.modules() if hasattr(m, "exportable") and isinstance(m, torch.nn.Conv2d))
    dims = {"x": {2: torch.export.Dim("h", min=33, max=512), 3: torch.export.Dim("w", min=33, max=512)}}
    program = torch.export.export(model, (torch.randn(1, 3, 64, 64),), dynamic_shapes=dims)
    eager = timm.create_model("test_emov2", window_size=3).eval()
    eager.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 97, 131)  # padded windows in stages 3 and 4
    with torch.no_grad():
        torch.testing.assert_close(program.module()(x), eager(x), rtol=1e-5, atol=1e-6)
