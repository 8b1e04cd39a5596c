"""Mask R-CNN on EMOv2 (paper §3.2): torchvision's ``MaskRCNN`` on a 5-level FPN over strides 4-32
(P6 by max-pooling P5, as mmdet's standard FPN), with torchvision's default RPN, box and mask heads."""

from __future__ import annotations

from torchvision.models.detection import MaskRCNN
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from .backbone import EMOv2Features, EMOv2FPN

__all__ = ["build_maskrcnn"]


def build_maskrcnn(features: EMOv2Features, num_classes: int, fpn_channels: int = 256, **kwargs) -> MaskRCNN:
    """torchvision Mask R-CNN; ``num_classes`` counts the background; ``kwargs`` go to ``MaskRCNN``."""
    backbone = EMOv2FPN(features, fpn_channels, LastLevelMaxPool())
    defaults = dict(image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    return MaskRCNN(backbone, num_classes, **{**defaults, **kwargs})
