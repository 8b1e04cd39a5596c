"""The stem and the stage of EMOv2 (2-D): the parts :class:`~emov2.models.EMOv2` stacks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from timm.layers import ConvNormAct
from timm.models import checkpoint_seq
from torch import nn

from ..layers import EPS, AttentionMode, MetaMobileBlock, PointwiseConv2d
from ..layers.fuse import fold_bn_after_conv

__all__ = ["EMOv2Stage", "Stem"]


class Stem(nn.Module):
    """3x3 s2 conv + BN + SiLU -> 3x3 depthwise + BN + SiLU -> 1x1 conv: (B, 3, H, W) -> (B, C, H/2, W/2)."""

    def __init__(self, in_chs: int, out_chs: int, *, exportable: bool | None = None, device=None, dtype=None):
        super().__init__()
        dd = dict(device=device, dtype=dtype)
        bn = dict(norm_layer=nn.BatchNorm2d, act_layer=nn.SiLU, norm_kwargs=dict(eps=EPS), **dd)
        self.conv1 = ConvNormAct(in_chs, out_chs, 3, stride=2, bias=True, **bn)
        self.conv2 = ConvNormAct(out_chs, out_chs, 3, groups=out_chs, bias=False, **bn)
        self.conv3 = PointwiseConv2d(out_chs, out_chs, bias=False, exportable=exportable, **dd)

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Fold both BatchNorms into their convs (eval only)."""
        for layer in (self.conv1, self.conv2):
            if isinstance(layer.bn, nn.BatchNorm2d):
                layer.conv = fold_bn_after_conv(layer.conv, layer.bn)
                layer.bn = layer.bn.act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.conv2(self.conv1(x)))


class EMOv2Stage(nn.Module):
    """One stage: a downsampling MMBlock (conv operator, doubled expansion), then ``depth - 1`` blocks.

    ``stride`` is the downsampling block's (1 where ``output_stride`` stops the downsampling); ``dilation`` is the
    depthwise dilation of the later blocks, ``first_dilation`` the downsampling block's (timm's convention).
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        depth: int,
        *,
        exp_ratio: float,
        norm_layer: type[nn.Module],
        act_layer: type[nn.Module],
        attn_mode: AttentionMode | None,
        dim_head: int,
        window_size: int,
        dw_kernel_size: int,
        drop_path: Sequence[float],
        layer_scale_init: float = 1e-6,
        downsample_dw_kernel_size: int | None = None,
        stride: int = 2,
        first_dilation: int = 1,
        dilation: int = 1,
        attn_impl: str = "auto",
        exportable: bool | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.grad_checkpointing = False
        common = dict(
            norm_layer=norm_layer, act_layer=act_layer, dim_head=dim_head, window_size=window_size,
            layer_scale_init=layer_scale_init, attn_impl=attn_impl, exportable=exportable, device=device,
            dtype=dtype,
        )
        blocks = [
            MetaMobileBlock(
                in_chs, out_chs, exp_ratio=exp_ratio * 2, stride=stride, attn_mode=None,
                dw_kernel_size=downsample_dw_kernel_size or dw_kernel_size, dw_dilation=first_dilation,
                drop_path=drop_path[0], **common,
            )
        ]
        for i in range(1, depth):
            blocks.append(
                MetaMobileBlock(
                    out_chs, out_chs, exp_ratio=exp_ratio, attn_mode=attn_mode, dw_kernel_size=dw_kernel_size,
                    dw_dilation=dilation, drop_path=drop_path[i], **common,
                )
            )
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grad_checkpointing and not torch.jit.is_scripting():
            return checkpoint_seq(self.blocks, x)
        return self.blocks(x)
