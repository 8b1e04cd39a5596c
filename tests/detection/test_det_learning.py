"""SSDLite's paper head init."""

import pytest
import torch
from torch import nn

from emov2.detection import create_detector


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
