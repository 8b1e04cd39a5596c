"""``create_segmenter``: EMOv2 features (or the UNet) + one decode head (+ an auxiliary FCN), logits at input
resolution."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from ..models.features import EMOv2Features
from .heads import ASPPHead, FCNHead, PSPHead, SegFormerHead, SemanticFPNHead
from .unet import UNET_BLOCKS, UNet

__all__ = ["SEGMENTERS", "Segmenter", "create_segmenter"]

SEGMENTERS = ("deeplabv3", "pspnet", "fpn", "segformer", "unet")


class Segmenter(nn.Module):
    """Backbone + decode head (+ auxiliary head used only for the training loss).

    Shapes: ``(B, 3, H, W)`` -> ``{"out": (B, K, H, W)}``, plus ``"aux": (B, K, H, W)`` in training
    when an auxiliary head exists.
    """

    def __init__(self, features: EMOv2Features | UNet, decode_head: nn.Module,
                 aux_head: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = features
        self.decode_head = decode_head
        self.aux_head = aux_head

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        size = x.shape[2:]
        feats = self.backbone(x)
        out = {"out": _resize(self.decode_head(feats), size)}
        if self.aux_head is not None and self.training:
            out["aux"] = _resize(self.aux_head(feats), size)
        return out


def _resize(logits: torch.Tensor, size) -> torch.Tensor:
    """Bilinear resize of ``(B, K, h, w)`` logits to ``size`` (a no-op at the same size, e.g. the UNet's head)."""
    if tuple(logits.shape[2:]) == tuple(size):
        return logits
    return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


def create_segmenter(
    arch: str,
    backbone: str = "emov2_5m",
    num_classes: int = 150,
    *,
    backbone_checkpoint: str | os.PathLike | None = None,
    window_size: int | None = None,
    frozen_stages: int = -1,
    norm_eval: bool = False,
    drop_path_rate: float = 0.0,
    channels: int | None = None,
    aux: bool = True,
) -> Segmenter:
    """Build a segmenter as in the paper's ADE20K configs (§3.3) or its HRF UNet (§3.4, Tab. XII).

    Args:
        arch: ``deeplabv3`` (ASPP 1/12/24/36, 256 ch), ``pspnet`` (bins 1/2/3/6, 256 ch), ``fpn`` (Semantic FPN,
            256/128 ch), ``segformer`` (all-MLP, 180 ch for 1M and 288 otherwise) or ``unet`` (UNet-S5-D16 +
            ASPP with 16 channels on the full-resolution map; auxiliary FCN of 64 channels on the 1/2 map).
        backbone: EMOv2 variant name; for ``unet``: ``i2rmb`` (U-EMOv2) or ``conv`` (the plain UNet baseline).
        num_classes: classes predicted (150 for ADE20K, 2 for HRF vessels); labels equal to 255 are ignored by
            the loss.
        backbone_checkpoint: classification weights for the backbone (not for ``unet``, trained from scratch).
        window_size: attention window (default: 10 for the ADE20K models, 8 for U-EMOv2, which gives the paper's
            228 GFLOPs; the released HRF config says 10).
        frozen_stages, norm_eval, drop_path_rate: EMOv2 backbone options (paper: -1 / False / 0).
        channels: head width override (default: the paper's).
        aux: add the auxiliary FCN head (stage 3 for ``deeplabv3`` and ``pspnet``, dec1 for ``unet``; loss
            weight 0.4).
    """
    if arch not in SEGMENTERS:
        raise ValueError(f"unknown segmenter {arch!r}; choose from {', '.join(SEGMENTERS)}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if arch == "unet":
        if backbone not in UNET_BLOCKS:
            raise ValueError(f"unet backbone must be one of {', '.join(UNET_BLOCKS)}, got {backbone!r}")
        if backbone_checkpoint is not None:
            raise ValueError("the UNet segmenters are trained from scratch: backbone_checkpoint is not supported")
        window_size = 8 if window_size is None else window_size
        unet = UNet(backbone, window_size)
        head = ASPPHead(unet.channels[-1], num_classes, channels or 16)
        aux_head = FCNHead(unet.channels[-2], num_classes, 64, index=3) if aux else None
        model = Segmenter(unet, head, aux_head)
        model.emov2_config = dict(arch=arch, backbone=backbone, num_classes=num_classes, window_size=window_size)
        return model
    window_size = 10 if window_size is None else window_size
    features = EMOv2Features(backbone, (1, 2, 3, 4), window_size=window_size, frozen_stages=frozen_stages,
                             norm_eval=norm_eval, checkpoint=backbone_checkpoint, drop_path_rate=drop_path_rate)
    chans = features.channels
    aux_head = None
    if arch == "deeplabv3":
        head: nn.Module = ASPPHead(chans[-1], num_classes, channels or 256)
    elif arch == "pspnet":
        head = PSPHead(chans[-1], num_classes, channels or 256)
    elif arch == "fpn":
        head = SemanticFPNHead(chans, num_classes, 256, channels or 128, tuple(features.strides))
    else:
        head = SegFormerHead(chans, num_classes, channels or (180 if backbone == "emov2_1m" else 288))
    if aux and arch in ("deeplabv3", "pspnet"):
        aux_head = FCNHead(chans[-2], num_classes, 256)
    model = Segmenter(features, head, aux_head)
    model.emov2_config = dict(arch=arch, backbone=backbone, num_classes=num_classes, window_size=window_size)
    return model
