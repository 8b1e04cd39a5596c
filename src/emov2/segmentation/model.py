"""``create_segmenter``: EMOv2 features + one decode head (+ an auxiliary FCN), logits at input resolution."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from ..models.features import EMOv2Features
from .heads import ASPPHead, FCNHead, PSPHead, SegFormerHead, SemanticFPNHead

__all__ = ["SEGMENTERS", "Segmenter", "create_segmenter"]

SEGMENTERS = ("deeplabv3", "pspnet", "fpn", "segformer")


class Segmenter(nn.Module):
    """Backbone + decode head (+ auxiliary head used only for the training loss).

    Shapes: ``(B, 3, H, W)`` -> ``{"out": (B, K, H, W)}``, plus ``"aux": (B, K, H, W)`` in training
    when an auxiliary head exists.
    """

    def __init__(self, features: EMOv2Features, decode_head: nn.Module, aux_head: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = features
        self.decode_head = decode_head
        self.aux_head = aux_head

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        size = x.shape[2:]
        feats = self.backbone(x)
        out = {"out": F.interpolate(self.decode_head(feats), size=size, mode="bilinear", align_corners=False)}
        if self.aux_head is not None and self.training:
            out["aux"] = F.interpolate(self.aux_head(feats), size=size, mode="bilinear", align_corners=False)
        return out


def create_segmenter(
    arch: str,
    backbone: str = "emov2_5m",
    num_classes: int = 150,
    *,
    backbone_checkpoint: str | os.PathLike | None = None,
    window_size: int = 10,
    frozen_stages: int = -1,
    norm_eval: bool = False,
    drop_path_rate: float = 0.0,
    channels: int | None = None,
    aux: bool = True,
) -> Segmenter:
    """Build a segmenter as in the paper's ADE20K configs (§3.3).

    Args:
        arch: ``deeplabv3`` (ASPP 1/12/24/36, 256 ch), ``pspnet`` (bins 1/2/3/6, 256 ch), ``fpn`` (Semantic FPN,
            256/128 ch) or ``segformer`` (all-MLP, 180 ch for 1M and 288 otherwise).
        backbone: EMOv2 variant name.
        num_classes: classes predicted (150 for ADE20K); labels equal to 255 are ignored by the loss.
        backbone_checkpoint: classification weights for the backbone.
        window_size, frozen_stages, norm_eval, drop_path_rate: backbone options (paper: 10 / -1 / False).
        channels: head width override (default: the paper's).
        aux: add the auxiliary FCN head on stage 3 for ``deeplabv3`` and ``pspnet`` (loss weight 0.4).
    """
    if arch not in SEGMENTERS:
        raise ValueError(f"unknown segmenter {arch!r}; choose from {', '.join(SEGMENTERS)}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
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
