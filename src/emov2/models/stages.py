"""The stem and the stage of EMOv2, over 2-D (B, C, H, W) or 3-D (B, C, T, H, W) maps: the parts
:class:`~emov2.models.EMOv2` stacks (3-D: V-EMOv2, every kernel cubic)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from timm.layers import ConvNormAct
from timm.models import checkpoint_seq
from torch import nn

from ..layers import EPS, AttentionMode, MetaMobileBlock, create_pointwise
from ..layers.fuse import fold_bn_after_conv

__all__ = ["ConvNormAct3d", "EMOv2Stage", "Stem"]


class ConvNormAct3d(nn.Module):
    """Conv3d (cubic kernel ``k``, padding ``k // 2``) -> BatchNorm3d -> activation: the 3-D counterpart of
    timm's ``ConvNormAct`` with the same parameter names (``conv``, ``bn``)."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int, *, stride: int | Sequence[int] = 1,
                 groups: int = 1, bias: bool = False, act_layer: type[nn.Module] = nn.SiLU, device=None,
                 dtype=None) -> None:
        super().__init__()
        dd = dict(device=device, dtype=dtype)
        self.conv = nn.Conv3d(in_chs, out_chs, kernel_size, stride=stride, padding=kernel_size // 2, groups=groups,
                              bias=bias, **dd)
        self.bn = nn.BatchNorm3d(out_chs, eps=EPS, **dd)
        self.act = act_layer(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Stem(nn.Module):
    """3^d s2 conv + BN + SiLU -> 3^d depthwise + BN + SiLU -> 1x1 conv: (B, 3, *S) -> (B, C, *S / 2).

    ``spatial_dims=3``: cubic 3x3x3 kernels and stride (2, 2, 2) (the scalar stride 2 of the 2-D stem on every
    axis, time included: V-EMOv2 halves the frames here and nowhere else).
    """

    def __init__(self, in_chs: int, out_chs: int, *, spatial_dims: int = 2, exportable: bool | None = None,
                 device=None, dtype=None):
        super().__init__()
        dd = dict(device=device, dtype=dtype)
        if spatial_dims == 2:
            bn = dict(norm_layer=nn.BatchNorm2d, act_layer=nn.SiLU, norm_kwargs=dict(eps=EPS), **dd)
            self.conv1 = ConvNormAct(in_chs, out_chs, 3, stride=2, bias=True, **bn)
            self.conv2 = ConvNormAct(out_chs, out_chs, 3, groups=out_chs, bias=False, **bn)
        elif spatial_dims == 3:
            self.conv1 = ConvNormAct3d(in_chs, out_chs, 3, stride=2, bias=True, **dd)
            self.conv2 = ConvNormAct3d(out_chs, out_chs, 3, groups=out_chs, bias=False, **dd)
        else:
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        self.conv3 = create_pointwise(spatial_dims, out_chs, out_chs, bias=False, exportable=exportable, **dd)

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Fold both BatchNorms into their convs (eval only)."""
        for layer in (self.conv1, self.conv2):
            if isinstance(layer.bn, nn.BatchNorm2d):  # timm's BatchNormAct2d: the activation stays
                layer.conv = fold_bn_after_conv(layer.conv, layer.bn)
                layer.bn = layer.bn.act
            elif isinstance(layer.bn, nn.BatchNorm3d):
                layer.conv = fold_bn_after_conv(layer.conv, layer.bn)
                layer.bn = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.conv2(self.conv1(x)))


class EMOv2Stage(nn.Module):
    """One stage: a downsampling MMBlock (conv operator, doubled expansion), then ``depth - 1`` blocks.

    ``stride`` is the downsampling block's (1 where ``output_stride`` stops the downsampling; ``(1, 2, 2)`` in
    3-D); ``dilation`` is the depthwise dilation of the later blocks, ``first_dilation`` the downsampling block's
    (timm's convention). ``spatial_dims`` 2 or 3: the blocks' maps (see :class:`~emov2.layers.MetaMobileBlock`).
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
        window_size: int | Sequence[int],
        dw_kernel_size: int,
        drop_path: Sequence[float],
        layer_scale_init: float = 1e-6,
        downsample_dw_kernel_size: int | None = None,
        stride: int | Sequence[int] = 2,
        first_dilation: int = 1,
        dilation: int = 1,
        spatial_dims: int = 2,
        attn_impl: str = "auto",
        exportable: bool | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.grad_checkpointing = False
        common = dict(
            norm_layer=norm_layer, act_layer=act_layer, dim_head=dim_head, window_size=window_size,
            layer_scale_init=layer_scale_init, attn_impl=attn_impl, spatial_dims=spatial_dims,
            exportable=exportable, device=device, dtype=dtype,
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
