"""Semantic segmentation on EMOv2 backbones (DeepLabv3, PSPNet, Semantic FPN, SegFormer head) and the HRF UNets
(U-EMOv2, UNet-S5-D16)."""

from .heads import ASPPHead, FCNHead, PSPHead, SegFormerHead, SemanticFPNHead
from .model import SEGMENTERS, Segmenter, create_segmenter
from .unet import UNet

__all__ = [
    "SEGMENTERS", "ASPPHead", "FCNHead", "PSPHead", "SegFormerHead", "Segmenter", "SemanticFPNHead", "UNet",
    "create_segmenter",
]
