"""Semantic segmentation on EMOv2 backbones (DeepLabv3, PSPNet, Semantic FPN, SegFormer head)."""

from .heads import ASPPHead, FCNHead, PSPHead, SegFormerHead, SemanticFPNHead
from .model import SEGMENTERS, Segmenter, create_segmenter

__all__ = [
    "SEGMENTERS", "ASPPHead", "FCNHead", "PSPHead", "SegFormerHead", "Segmenter", "SemanticFPNHead",
    "create_segmenter",
]
