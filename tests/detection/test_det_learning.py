"""SSDLite's paper head init and the zoom-out switch (the overfit check is docs/det_overfit_check.py: too slow here)."""

import pytest
import torch
from torch import nn
from torchvision.transforms import v2

from emov2.detection import create_detector
from emov2.detection.transforms import detection_transforms
from emov2.engine.config import load_recipe


def _head_convs(model):
    return [m for m in model.head.modules() if isinstance(m, nn.Conv2d)]


def test_ssdlite_head_paper_init():
    torch.manual_seed(0)
    paper = create_detector("ssdlite", "emov2_1m", 10, size=96)
    for conv in _head_convs(paper):
        assert conv.weight.std().item() == pytest.approx(0.001, rel=0.3)
        assert conv.bias is None or torch.all(conv.bias == 0)
    tv = create_detector("ssdlite", "emov2_1m", 10, size=96, head_init_std=None)  # torchvision's Normal(0.03)
    assert all(c.weight.std().item() == pytest.approx(0.03, rel=0.3) for c in _head_convs(tv))


def test_ssdlite_expand_ratio():
    def zoom(t):
        return [op for op in t.transforms if isinstance(op, v2.RandomZoomOut)]

    assert load_recipe("ssdlite", "det")["expand_ratio"] == 4.0
    assert load_recipe("ssdlite", "det")["head_init_std"] == 0.001
    (z,) = zoom(detection_transforms("ssdlite", True))
    assert tuple(z.side_range) == (1.0, 4.0)
    assert zoom(detection_transforms("ssdlite", True, expand_ratio=1.0)) == []
    with pytest.raises(ValueError, match="expand_ratio"):
        detection_transforms("ssdlite", True, expand_ratio=0.5)
