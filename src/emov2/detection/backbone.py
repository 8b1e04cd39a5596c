"""The detection backbone: :class:`EMOv2FPN` puts torchvision's ``FeaturePyramidNetwork`` on the EMOv2 feature
maps (:class:`emov2.models.EMOv2Features`, shared with segmentation) and follows torchvision's backbone contract
(``OrderedDict[str, Tensor]`` output and an ``out_channels`` int).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import ExtraFPNBlock

from ..models.features import EMOv2Features

__all__ = ["EMOv2FPN", "EMOv2Features"]


class EMOv2FPN(nn.Module):
    """EMOv2 features + torchvision FPN: the backbone of RetinaNet and Mask R-CNN.

    Args:
        features: an :class:`EMOv2Features`; all of its maps feed the FPN.
        out_channels: FPN width (256 in the paper).
        extra_blocks: torchvision's ``LastLevelP6P7`` (RetinaNet) or ``LastLevelMaxPool`` (Mask R-CNN).

    Shapes: ``(B, 3, H, W)`` -> ``OrderedDict`` of ``(B, out_channels, H / s, W / s)``, keys ``"0"``, ``"1"``, ...
    """

    def __init__(self, features: EMOv2Features, out_channels: int = 256, extra_blocks: ExtraFPNBlock | None = None):
        super().__init__()
        self.features = features
        self.fpn = FeaturePyramidNetwork(features.channels, out_channels, extra_blocks=extra_blocks)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        feats = self.features(x)
        return self.fpn(OrderedDict((str(i), f) for i, f in enumerate(feats)))
