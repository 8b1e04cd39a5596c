"""Detector construction: parameter counts (hand numbers and the paper's), backbone options, outputs."""

import pytest
import torch
from torch import nn

import emov2  # noqa: F401
from emov2.cli.info_dense import inference_params
from emov2.detection import EMOv2Features, create_detector
from emov2.detection.paper import PAPER_DET
from emov2.detection.ssdlite import EMOv2SSDLiteBackbone


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("arch", ["ssdlite", "retinanet", "maskrcnn"])
@pytest.mark.parametrize("backbone", ["emov2_1m", "emov2_5m"])
def test_params_match_paper(arch, backbone):
    model = create_detector(arch, backbone, 80)
    measured = inference_params(model) / 1e6
    assert abs(measured / PAPER_DET[arch][backbone]["params"] - 1) < 0.10


def test_ssdlite_extra_layers_hand_count():
    feats = EMOv2Features("emov2_1m", (3, 4))
    bb = EMOv2SSDLiteBackbone(feats)
    assert bb.out_channels == [80, 180, 512, 256, 256, 128]

    def extra(cin, cout):  # 1x1 + BN, dw 3x3 + BN, 1x1 + BN (no conv bias)
        mid = cout // 2
        return cin * mid + 2 * mid + 9 * mid + 2 * mid + mid * cout + 2 * cout

    hand = extra(180, 512) + extra(512, 256) + extra(256, 256) + extra(256, 128)
    assert n_params(bb.extra) == hand


def test_retinanet_fpn_hand_count():
    model = create_detector("retinanet", "emov2_1m", 80)
    fpn = model.backbone.fpn
    c = [48, 80, 180]  # strides 8/16/32 of emov2_1m
    lateral = sum(ci * 256 + 256 for ci in c)
    output = 3 * (9 * 256 * 256 + 256)
    p6p7 = (9 * 180 * 256 + 256) + (9 * 256 * 256 + 256)  # P6 from the stride-32 input map (not 256 wide)
    assert n_params(fpn) == lateral + output + p6p7


def test_frozen_stages_and_norm_eval():
    f = EMOv2Features("emov2_1m", (1, 2, 3, 4), frozen_stages=1, norm_eval=True)
    f.train()
    assert not any(p.requires_grad for p in f.body.stem.parameters())
    assert not any(p.requires_grad for p in f.body.stages_0.parameters())
    assert all(p.requires_grad for p in f.body.stages_1.parameters())
    bns = [m for m in f.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    before = {k: v.clone() for k, v in f.state_dict().items() if "running_mean" in k}
    f(torch.randn(2, 3, 64, 64))
    after = f.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    with pytest.raises(ValueError, match="frozen_stages"):
        EMOv2Features("emov2_1m", frozen_stages=7)


def test_backbone_checkpoint_round_trip(tmp_path):
    from emov2.models import save_safetensors

    cls = emov2.create_model("emov2_1m")
    save_safetensors(cls.state_dict(), tmp_path / "w.safetensors", {"variant": "emov2_1m"})
    f = EMOv2Features("emov2_1m", (1, 2, 3, 4), window_size=7, checkpoint=tmp_path / "w.safetensors").eval()
    for k, v in f.body.state_dict().items():
        src = k.replace("stages_", "stages.", 1)
        assert torch.equal(v, cls.state_dict()[src]), k
    wrong = emov2.create_model("emov2_2m")
    save_safetensors(wrong.state_dict(), tmp_path / "w2.safetensors")
    with pytest.raises(Exception, match="does not fit"):
        EMOv2Features("emov2_1m", checkpoint=tmp_path / "w2.safetensors")


@pytest.mark.parametrize("arch,kw", [("ssdlite", dict(size=96)), ("retinanet", dict(min_size=64, max_size=96)),
                                     ("maskrcnn", dict(min_size=64, max_size=96))])
def test_outputs_torchvision_format(arch, kw):
    model = create_detector(arch, "emov2_1m", 3, **kw).eval()
    with torch.no_grad():
        out = model([torch.rand(3, 64, 80), torch.rand(3, 72, 64)])
    assert len(out) == 2
    for o in out:
        assert o["boxes"].shape[1] == 4 and o["boxes"].shape[0] == o["scores"].shape[0] == o["labels"].shape[0]
        assert o["labels"].numel() == 0 or int(o["labels"].max()) <= 3
        if arch == "maskrcnn":
            assert o["masks"].shape[1:] == (1, *((64, 80) if o is out[0] else (72, 64)))
    model.train()
    with pytest.raises((ValueError, AssertionError)):
        model([torch.rand(3, 64, 64)])  # training without targets


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown detector"):
        create_detector("yolo", "emov2_1m", 3)
    with pytest.raises(ValueError, match="num_classes"):
        create_detector("ssdlite", "emov2_1m", 0)
