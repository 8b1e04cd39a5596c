"""SSDLite on EMOv2 (paper §3.2): torchvision's ``SSD`` + ``SSDLiteHead`` with the paper's neck and anchors.

Neck: the stride-16 and stride-32 stage outputs, then four depthwise-separable extra layers
(512, 256, 256, 128 channels; 1x1 reduce -> 3x3 depthwise stride 2 -> 1x1 expand; BN eps 1e-3,
momentum 0.03; ReLU6), as mmdet's ``SSDNeck(use_depthwise=True)``.
Anchors: min sizes 48/100/150/202/253/304 px, max 100/150/202/253/304/320 px, steps 16/32/64/107/160/320,
ratios 2 and 3 (six boxes per location); the same pixel sizes are used at 512 input, as in the paper.
Head init: every convolution of the head Normal(0, 0.001), biases 0 (the mmdet config's
``init_cfg=dict(type="Normal", layer="Conv2d", std=0.001)``) instead of torchvision's Normal(0, 0.03).
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import torch
from torch import nn
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.ssd import SSD
from torchvision.models.detection.ssdlite import SSDLiteHead
from torchvision.ops.misc import Conv2dNormActivation

from .backbone import EMOv2Features

__all__ = ["EMOv2SSDLiteBackbone", "HEAD_INIT_STD", "build_ssdlite", "init_ssdlite_head", "ssdlite_anchor_generator"]

MIN_SIZES = (48, 100, 150, 202, 253, 304)
MAX_SIZE = 320
STEPS = (16, 32, 64, 107, 160, 320)
EXTRA_CHANNELS = (512, 256, 256, 128)
HEAD_INIT_STD = 0.001
_NORM = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)


def _extra_layer(cin: int, cout: int) -> nn.Sequential:
    mid = cout // 2
    return nn.Sequential(
        Conv2dNormActivation(cin, mid, 1, norm_layer=_NORM, activation_layer=nn.ReLU6),
        Conv2dNormActivation(mid, mid, 3, stride=2, groups=mid, norm_layer=_NORM, activation_layer=nn.ReLU6),
        Conv2dNormActivation(mid, cout, 1, norm_layer=_NORM, activation_layer=nn.ReLU6),
    )


class EMOv2SSDLiteBackbone(nn.Module):
    """Stride-16/32 EMOv2 features plus the four extra layers.

    Shapes: ``(B, 3, S, S)`` -> ``OrderedDict`` of six maps at strides 16, 32, 64, 128, 256, 512
    with ``out_channels = [C3, C4, 512, 256, 256, 128]``.
    """

    def __init__(self, features: EMOv2Features, extra_channels: tuple[int, ...] = EXTRA_CHANNELS) -> None:
        super().__init__()
        if len(features.channels) != 2:
            raise ValueError("the SSDLite backbone takes exactly two feature maps (strides 16 and 32)")
        self.features = features
        chans = [features.channels[-1], *extra_channels]
        self.extra = nn.ModuleList(_extra_layer(a, b) for a, b in zip(chans[:-1], chans[1:], strict=False))
        for m in self.extra.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.trunc_normal_(m.weight, std=0.03)
        self.out_channels = [*features.channels, *extra_channels]

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        outs = list(self.features(x))
        y = outs[-1]
        for layer in self.extra:
            y = layer(y)
            outs.append(y)
        return OrderedDict((str(i), o) for i, o in enumerate(outs))


def ssdlite_anchor_generator(size: int) -> DefaultBoxGenerator:
    """The paper's SSDLite anchors (pixel sizes) expressed relative to a ``size`` x ``size`` input."""
    scales = [s / size for s in (*MIN_SIZES, MAX_SIZE)]
    return DefaultBoxGenerator([[2, 3]] * len(MIN_SIZES), scales=scales, steps=list(STEPS))


def init_ssdlite_head(head: nn.Module, std: float = HEAD_INIT_STD) -> None:
    """Normal(0, ``std``) weights and zero biases for every ``Conv2d`` of an SSDLite head (in place)."""
    for m in head.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def build_ssdlite(features: EMOv2Features, num_classes: int, size: int = 320,
                  head_init_std: float | None = HEAD_INIT_STD, **kwargs) -> SSD:
    """torchvision SSD with an SSDLite head; ``num_classes`` counts the background (torchvision convention).

    ``head_init_std``: the head's conv init (the paper's 0.001 by default; ``None`` keeps torchvision's 0.03).
    ``kwargs`` override torchvision's ``SSD`` options; the defaults are the paper's test settings
    (NMS 0.45, score 0.02, 200 detections) and ImageNet normalisation.
    """
    backbone = EMOv2SSDLiteBackbone(features)
    anchors = ssdlite_anchor_generator(size)
    head = SSDLiteHead(backbone.out_channels, anchors.num_anchors_per_location(), num_classes, _NORM)
    if head_init_std is not None:
        init_ssdlite_head(head, head_init_std)
    defaults = dict(
        score_thresh=0.02, nms_thresh=0.45, detections_per_img=200, topk_candidates=400, iou_thresh=0.5,
        image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
    )
    return SSD(backbone, anchors, (size, size), num_classes, head=head, **{**defaults, **kwargs})
