"""Model specs: names, +fused, external factories, published top-1."""

import sys
import textwrap

import pytest
import torch

import emov2
from emov2.benchmark import PEER_TOP1, build_model, fuse, parse_extra_model, parse_models, published_top1


def test_parse_models_and_top1():
    specs = parse_models("emov2_5m, emov2_5m+fused,edgenext_small")
    assert [s.label for s in specs] == ["emov2_5m", "emov2_5m+fused", "edgenext_small"]
    assert [s.fused for s in specs] == [False, True, False]
    assert specs[0].top1 == emov2.VARIANTS["emov2_5m"].paper_top1
    assert specs[2].top1 == PEER_TOP1["edgenext_small"]
    assert all(s.fused for s in parse_models("emov2_1m,mobilenetv3_small_100", fused=True))
    assert published_top1("resnet_unknown") is None
    with pytest.raises(ValueError):
        parse_models(" , ")


def test_extra_model_factory_unwraps_dict(tmp_path, monkeypatch):
    (tmp_path / "my_ext_models.py").write_text(textwrap.dedent("""
        import torch
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = torch.nn.Conv2d(3, 4, 1)
            def forward(self, x):
                return {"out": self.fc(x).mean((2, 3))}
        class zoo:
            build = Net
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = parse_extra_model("ext=my_ext_models:zoo.build@70.5")
    assert (spec.label, spec.top1, spec.external) == ("ext", 70.5, True)
    out = build_model(spec)(torch.randn(2, 3, 8, 8))
    assert out.shape == (2, 4)
    sys.modules.pop("my_ext_models", None)
    with pytest.raises(ValueError, match="LABEL=MODULE:FACTORY"):
        parse_extra_model("nolabel")
    with pytest.raises(ValueError, match="no 'missing'"):
        build_model(parse_extra_model("x=my_ext_models:missing"))


def test_fuse_keeps_outputs():
    x = torch.randn(1, 3, 64, 64)
    for name in ("mobileone_s0", "emov2_1m"):  # timm reparameterizable peer; EMOv2 (package fusion if present)
        model = build_model(parse_models(name)[0])
        with torch.no_grad():
            ref = model(x)
            assert (fuse(model)(x) - ref).abs().max() <= 1e-4 * ref.abs().max()
