"""Decode heads for semantic segmentation (paper §3.3), written to match mmseg's layer layout and widths.

Every head takes the list of backbone maps (strides 4/8/16/32, or the UNet's five maps) and returns logits at
the stride of its finest input. ``ConvBNReLU`` is conv (no bias) + BatchNorm + ReLU, as mmseg's ``ConvModule`` with
BN. Every layer keeps PyTorch's default initialisation, as torchvision's segmentation heads do, not mmseg's (Kaiming
fan-out convs, ``conv_seg`` Normal(0, 0.01)): with AdamW, mmseg's larger conv weights in front of BatchNorm take
smaller relative steps, and on the SegFormer shapes run (docs/dense.md) they cost a third of the mIoU after 100
iterations (9.1 vs 13.3, mean of three seeds).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import FeaturePyramidNetwork

__all__ = ["ASPPHead", "ConvBNReLU", "FCNHead", "PSPHead", "SegFormerHead", "SemanticFPNHead"]


class ConvBNReLU(nn.Sequential):
    """``k x k`` conv without bias, BatchNorm, ReLU; ``padding = dilation * (k // 2)`` keeps the size."""

    def __init__(self, cin: int, cout: int, k: int = 1, dilation: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, k, padding=dilation * (k // 2), dilation=dilation, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class _Classifier(nn.Sequential):
    """Dropout + the 1x1 classifier conv (mmseg's ``conv_seg``)."""

    def __init__(self, channels: int, num_classes: int, dropout: float = 0.1) -> None:
        super().__init__(nn.Dropout2d(dropout), nn.Conv2d(channels, num_classes, 1))


class ASPPHead(nn.Module):
    """DeepLabv3 ASPP on the last map: image pooling + one 1x1 and three dilated 3x3 branches, then a 3x3 fuse.

    Shapes: ``feats[-1]`` ``(B, C, h, w)`` -> ``(B, num_classes, h, w)``.
    """

    def __init__(self, in_channels: int, num_classes: int, channels: int = 256,
                 dilations: tuple[int, ...] = (1, 12, 24, 36)) -> None:
        super().__init__()
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), ConvBNReLU(in_channels, channels, 1))
        self.branches = nn.ModuleList(ConvBNReLU(in_channels, channels, 1 if d == 1 else 3, d) for d in dilations)
        self.bottleneck = ConvBNReLU((len(dilations) + 1) * channels, channels, 3)
        self.cls = _Classifier(channels, num_classes)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        x = feats[-1]
        pooled = F.interpolate(self.image_pool(x), size=x.shape[2:], mode="bilinear", align_corners=False)
        y = torch.cat([pooled, *(b(x) for b in self.branches)], dim=1)  # (B, (n+1)*channels, h, w)
        return self.cls(self.bottleneck(y))


class PSPHead(nn.Module):
    """PSPNet pyramid pooling on the last map (bins 1/2/3/6, 1x1 conv each), concat with the input, 3x3 fuse.

    Shapes: ``feats[-1]`` ``(B, C, h, w)`` -> ``(B, num_classes, h, w)``.
    """

    def __init__(self, in_channels: int, num_classes: int, channels: int = 256,
                 pool_scales: tuple[int, ...] = (1, 2, 3, 6)) -> None:
        super().__init__()
        self.pools = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(s), ConvBNReLU(in_channels, channels, 1)) for s in pool_scales
        )
        self.bottleneck = ConvBNReLU(in_channels + len(pool_scales) * channels, channels, 3)
        self.cls = _Classifier(channels, num_classes)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        x = feats[-1]
        ups = [F.interpolate(p(x), size=x.shape[2:], mode="bilinear", align_corners=False) for p in self.pools]
        return self.cls(self.bottleneck(torch.cat([x, *ups], dim=1)))


class FCNHead(nn.Module):
    """Auxiliary FCN head (one 3x3 ConvBNReLU + classifier, no input concat) on the map at ``index``
    (stage 3 for the ADE20K models, the UNet's dec1 map for U-EMOv2).

    Shapes: ``feats[index]`` ``(B, C, h, w)`` -> ``(B, num_classes, h, w)``.
    """

    def __init__(self, in_channels: int, num_classes: int, channels: int = 256, index: int = -2) -> None:
        super().__init__()
        self.index = index
        self.conv = ConvBNReLU(in_channels, channels, 3)
        self.cls = _Classifier(channels, num_classes)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        return self.cls(self.conv(feats[self.index]))


class SemanticFPNHead(nn.Module):
    """Semantic FPN: an FPN neck (torchvision's, ``fpn_channels`` wide) over all maps, then per level
    ``log2(stride / stride_0)`` (at least one) 3x3 ConvBNReLU + 2x upsampling steps to the finest stride,
    summed and classified.

    Shapes: maps at strides 4..32 -> ``(B, num_classes, H / 4, W / 4)``.
    """

    def __init__(self, in_channels: list[int], num_classes: int, fpn_channels: int = 256, channels: int = 128,
                 strides: tuple[int, ...] = (4, 8, 16, 32)) -> None:
        super().__init__()
        self.fpn = FeaturePyramidNetwork(list(in_channels), fpn_channels)
        self.scale_heads = nn.ModuleList()
        for s in strides:
            n = max(1, int(math.log2(s / strides[0])))
            layers: list[nn.Module] = []
            for k in range(n):
                layers.append(ConvBNReLU(fpn_channels if k == 0 else channels, channels, 3))
                if s != strides[0]:
                    layers.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
            self.scale_heads.append(nn.Sequential(*layers))
        self.cls = _Classifier(channels, num_classes)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        pyramid = list(self.fpn({str(i): f for i, f in enumerate(feats)}).values())
        out = self.scale_heads[0](pyramid[0])
        for head, p in zip(self.scale_heads[1:], pyramid[1:], strict=False):
            out = out + F.interpolate(head(p), size=out.shape[2:], mode="bilinear", align_corners=False)
        return self.cls(out)


class SegFormerHead(nn.Module):
    """SegFormer all-MLP head: a 1x1 ConvBNReLU per map to ``channels``, upsample all to the finest map,
    concat, 1x1 ConvBNReLU fuse, classify.

    Shapes: maps at strides 4..32 -> ``(B, num_classes, H / 4, W / 4)``.
    """

    def __init__(self, in_channels: list[int], num_classes: int, channels: int = 256) -> None:
        super().__init__()
        self.proj = nn.ModuleList(ConvBNReLU(c, channels, 1) for c in in_channels)
        self.fuse = ConvBNReLU(len(in_channels) * channels, channels, 1)
        self.cls = _Classifier(channels, num_classes)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        size = feats[0].shape[2:]
        ys = [F.interpolate(p(f), size=size, mode="bilinear", align_corners=False)
              for p, f in zip(self.proj, feats, strict=True)]
        return self.cls(self.fuse(torch.cat(ys, dim=1)))
