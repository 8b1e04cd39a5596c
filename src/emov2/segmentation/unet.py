"""UNet-S5-D16 (mmseg's ``UNet``) and U-EMOv2, the same UNet whose conv blocks are i2RMBs (paper Tab. XII).

Five encoder stages of base width 64 (64 -> 1024, 2x2 max-pool between stages, stride 1 everywhere), four decoder
stages that upsample by ``InterpConv`` (bilinear x2, then 1x1 conv + BN + ReLU), concatenate the skip and run a
block of two layers. A layer is conv 3x3 + BN + ReLU in the baseline; in U-EMOv2 every block whose *input* width is
at least 64 (all but encoder stage 0) uses two i2RMBs instead (:class:`emov2.layers.MetaMobileBlock` with
LayerNorm2d pre-norm, spanning window attention in every block including the width-changing one, λ = 2 on the
input width, 32-channel heads, depthwise 5x5 + LayerNorm2d + GELU, projection without bias, layer scale 1e-6).
"""

from __future__ import annotations

from functools import partial

import torch
from timm.layers import LayerNorm2d
from torch import nn

from ..layers import AttentionMode, MetaMobileBlock
from .heads import ConvBNReLU

__all__ = ["UNET_BLOCKS", "InterpConv", "UNet", "init_unet_weights", "unet_layer_pair"]

UNET_BLOCKS = ("i2rmb", "conv")
LayerNorm2dEps6 = partial(LayerNorm2d, eps=1e-6)


def unet_layer_pair(in_chs: int, out_chs: int, block: str, window_size: int = 8) -> nn.Sequential:
    """The two layers of a UNet block, ``(B, in_chs, H, W) -> (B, out_chs, H, W)``: conv-BN-ReLU pairs, or
    two i2RMBs when ``block == 'i2rmb'`` and ``in_chs >= 64`` (the official ``BasiciiRMBBlock`` rule)."""
    if block == "conv" or in_chs < 64:
        return nn.Sequential(ConvBNReLU(in_chs, out_chs, 3), ConvBNReLU(out_chs, out_chs, 3))

    def i2rmb(cin: int, cout: int) -> MetaMobileBlock:
        return MetaMobileBlock(
            cin, cout, exp_ratio=2.0, norm_layer=LayerNorm2dEps6, act_layer=nn.GELU,
            attn_mode=AttentionMode.SPANNING, dim_head=32, window_size=window_size, qkv_bias=True,
            dw_kernel_size=5, dw_norm_layer=LayerNorm2d, dw_act_layer=nn.GELU, layer_scale_init=1e-6,
        )

    return nn.Sequential(i2rmb(in_chs, out_chs), i2rmb(out_chs, out_chs))


class InterpConv(nn.Sequential):
    """mmseg ``InterpConv``: bilinear x2 upsampling, then 1x1 conv + BN + ReLU; (B, C, H, W) -> (B, C', 2H, 2W)."""

    def __init__(self, in_chs: int, out_chs: int) -> None:
        super().__init__(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                         ConvBNReLU(in_chs, out_chs, 1))


class _UpBlock(nn.Module):
    """Upsample the deeper map, concatenate ``[skip, up]``, run the layer pair."""

    def __init__(self, in_chs: int, skip_chs: int, out_chs: int, block: str, window_size: int) -> None:
        super().__init__()
        self.upsample = InterpConv(in_chs, skip_chs)
        self.conv_block = unet_layer_pair(2 * skip_chs, out_chs, block, window_size)

    def forward(self, skip: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.conv_block(torch.cat([skip, self.upsample(x)], dim=1))


class UNet(nn.Module):
    """UNet-S5-D16 backbone, (B, 3, H, W) -> [enc4, dec3, dec2, dec1, dec0] (H and W divisible by 16).

    Shapes at ``H x W``: enc4 (B, 1024, H/16, W/16), dec3 (B, 512, H/8, W/8), dec2 (B, 256, H/4, W/4),
    dec1 (B, 128, H/2, W/2), dec0 (B, 64, H, W).

    Args:
        block: ``'conv'`` (UNet-S5-D16) or ``'i2rmb'`` (U-EMOv2).
        window_size: attention window of the i2RMBs (8 reproduces the paper's FLOPs; the released config says 10).
        base_channels, num_stages, in_chans: UNet sizes (64, 5, 3 in the paper).
    """

    def __init__(self, block: str = "i2rmb", window_size: int = 8, base_channels: int = 64, num_stages: int = 5,
                 in_chans: int = 3) -> None:
        super().__init__()
        if block not in UNET_BLOCKS:
            raise ValueError(f"unknown UNet block {block!r}; choose from {', '.join(UNET_BLOCKS)}")
        widths = [base_channels * 2**i for i in range(num_stages)]
        self.encoder = nn.ModuleList()
        self.decoder = nn.ModuleList()
        cin = in_chans
        for i, w in enumerate(widths):
            pool = [nn.MaxPool2d(2)] if i else []
            self.encoder.append(nn.Sequential(*pool, unet_layer_pair(cin, w, block, window_size)))
            if i:
                self.decoder.append(_UpBlock(w, widths[i - 1], widths[i - 1], block, window_size))
            cin = w
        self.divisor = 2 ** (num_stages - 1)
        self.channels = widths[::-1]  # of the returned maps: [enc4, dec3, dec2, dec1, dec0]
        self.strides = [2**i for i in range(num_stages)][::-1]
        init_unet_weights(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h, w = x.shape[-2:]
        if h % self.divisor or w % self.divisor:
            raise ValueError(f"UNet input {h}x{w} must be divisible by {self.divisor} (pad or crop it)")
        skips = []
        for enc in self.encoder:
            x = enc(x)
            skips.append(x)
        outs = [x]
        for i in reversed(range(len(self.decoder))):
            x = self.decoder[i](skips[i], x)
            outs.append(x)
        return outs


def init_unet_weights(module: nn.Module) -> None:
    """mmseg's UNet ``init_cfg``: Kaiming normal (fan_out, ReLU) on every Conv2d (i2RMB convs included), biases 0,
    BatchNorm weight 1 / bias 0; LayerNorms keep 1 / 0 and layer scales their 1e-6."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm | nn.GroupNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

