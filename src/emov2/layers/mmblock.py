"""The Meta Mobile Block: one residual block that i2RMB (EMOv2), iRMB (EMOv1) and a plain IRB configure,
over 2-D (B, C, H, W) or 3-D (B, C, T, H, W) maps.

    x -> Norm -> F (1x1 expansion, or window attention whose V expands) -> [+] DW k^d conv + BN + act
      -> 1x1 projection -> layer scale -> drop path -> (+ x)

The inner skip around the depthwise conv and the outer residual exist only when the block keeps its
shape (stride 1, same width); a downsampling block is a plain inverted bottleneck without residual.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from timm.layers import DropPath, LayerNorm2d, LayerScale2d, create_act_layer
from torch import nn

from .attention import AttentionMode, WindowAttention
from .dwconv import DepthwiseConv2d
from .fuse import bn_scale_shift, fold_affine_before_conv, fold_bn_after_conv, fold_scale_after_conv
from .norm import EPS, LayerNorm3d, LayerScale3d, create_layer_scale, norm_layer
from .pwconv import create_pointwise

__all__ = ["BatchNorm2dEps6", "ConvExpand", "DWConvNormAct", "MetaMobileBlock"]

BatchNorm2dEps6 = partial(nn.BatchNorm2d, eps=EPS)


class ConvExpand(nn.Module):
    """The conv operator of an MMBlock: 1x1 conv C -> M with bias, then activation (in place where the activation
    supports it: the conv output is a fresh tensor, and on the large expanded maps of stage 1 the saved allocation
    is measurable)."""

    def __init__(self, dim: int, dim_out: int, *, act_layer: type[nn.Module] = nn.SiLU, bias: bool = True,
                 spatial_dims: int = 2, exportable: bool | None = None, device=None, dtype=None) -> None:
        super().__init__()
        self.conv = create_pointwise(spatial_dims, dim, dim_out, bias=bias, exportable=exportable, device=device,
                                     dtype=dtype)
        self.act = create_act_layer(act_layer, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class DWConvNormAct(nn.Module):
    """Depthwise k^d conv (no bias) -> norm -> activation, on 2-D or 3-D maps (``conv`` / ``bn`` / ``act``)."""

    def __init__(self, chs: int, kernel_size: int, *, stride: int | Sequence[int] = 1, dilation: int = 1,
                 spatial_dims: int = 2, norm_layer: type[nn.Module] | None = None,
                 act_layer: type[nn.Module] = nn.SiLU, exportable: bool | None = None, device=None, dtype=None):
        super().__init__()
        dd = dict(device=device, dtype=dtype)
        padding = dilation * (kernel_size // 2)
        if spatial_dims == 2:
            self.conv = DepthwiseConv2d(chs, chs, kernel_size, stride=stride, padding=padding, dilation=dilation,
                                        groups=chs, bias=False, exportable=exportable, **dd)
        else:
            self.conv = nn.Conv3d(chs, chs, kernel_size, stride=stride, padding=padding, dilation=dilation,
                                  groups=chs, bias=False, **dd)
        norm = norm_layer or {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[spatial_dims]
        self.bn = norm(chs, eps=EPS, **dd)
        self.act = create_act_layer(act_layer, inplace=True)

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Fold an eval-mode BatchNorm into the conv."""
        if isinstance(self.bn, nn.modules.batchnorm._BatchNorm):
            self.conv = fold_bn_after_conv(self.conv, self.bn)
            self.bn = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class MetaMobileBlock(nn.Module):
    """Meta Mobile Block, (B, C_in, *S) -> (B, C_out, *S / stride) for S = (H, W) or (T, H, W).

    Args:
        in_chs, out_chs: input and output widths.
        exp_ratio: expansion λ; the middle width is ``int(in_chs * exp_ratio)``.
        stride: stride of the depthwise conv (2 for the first block of a stage; e.g. ``(1, 2, 2)`` in 3-D).
        norm_layer: pre-norm class (BatchNorm in stages 1-2, channel LayerNorm in 3-4); default BatchNorm eps 1e-6.
        act_layer: activation of the operator (SiLU or GELU).
        attn_mode: ``None`` gives the 1x1 conv operator; otherwise window attention in that mode.
        dim_head, window_size, qkv_bias, attn_impl: attention settings (see :class:`WindowAttention`).
        dw_kernel_size: depthwise kernel side (cubic in 3-D); 0 drops the depthwise conv and its skip.
        dw_dilation: depthwise dilation (``output_stride`` < 32 dilates the later stages).
        dw_norm_layer, dw_act_layer: norm and activation after the depthwise conv (BN + SiLU in EMOv2).
        layer_scale_init: initial per-channel scale; <= 0 disables layer scale.
        drop_path: stochastic depth rate of the residual branch.
        spatial_dims: 2 (images) or 3 (videos).
        exportable: portable layers (plain convs, the gather attention); default ``timm.layers.is_exportable()``.
        device, dtype: where the parameters are created (also picks SDPA attention on CUDA).
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        *,
        exp_ratio: float,
        stride: int | Sequence[int] = 1,
        norm_layer: type[nn.Module] | None = None,
        act_layer: type[nn.Module] = nn.SiLU,
        attn_mode: AttentionMode | None = None,
        dim_head: int = 32,
        window_size: int | Sequence[int] = 7,
        qkv_bias: bool = True,
        attn_impl: str = "auto",
        dw_kernel_size: int = 5,
        dw_dilation: int = 1,
        dw_norm_layer: type[nn.Module] | None = None,
        dw_act_layer: type[nn.Module] = nn.SiLU,
        layer_scale_init: float = 1e-6,
        drop_path: float = 0.0,
        spatial_dims: int = 2,
        exportable: bool | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
        dd = dict(device=device, dtype=dtype)
        mid_chs = int(in_chs * exp_ratio)
        strided = any(s != 1 for s in ((stride,) if isinstance(stride, int) else stride))
        self.has_skip = in_chs == out_chs and not strided
        self.norm = (norm_layer or norm_layer_default(spatial_dims))(in_chs, **dd)
        if attn_mode is None:
            self.op = ConvExpand(in_chs, mid_chs, act_layer=act_layer, bias=qkv_bias, spatial_dims=spatial_dims,
                                 exportable=exportable, **dd)
        else:
            self.op = WindowAttention(
                in_chs, mid_chs, mode=attn_mode, dim_head=dim_head, window_size=window_size, qkv_bias=qkv_bias,
                act_layer=act_layer, spatial_dims=spatial_dims, impl=attn_impl, exportable=exportable, **dd,
            )
        if dw_kernel_size > 0:
            self.dw = DWConvNormAct(mid_chs, dw_kernel_size, stride=stride, dilation=dw_dilation,
                                    spatial_dims=spatial_dims, norm_layer=dw_norm_layer, act_layer=dw_act_layer,
                                    exportable=exportable, **dd)
        elif not strided:
            self.dw = nn.Identity()
        else:
            raise ValueError("a strided block needs a depthwise conv (dw_kernel_size > 0)")
        self.has_dw_skip = self.has_skip and dw_kernel_size > 0
        self.proj = create_pointwise(spatial_dims, mid_chs, out_chs, bias=False, exportable=exportable, **dd)
        self.layer_scale = create_layer_scale(spatial_dims, out_chs, layer_scale_init, **dd)
        self.drop_path = DropPath(drop_path) if drop_path > 0 and self.has_skip else nn.Identity()

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Fold inference-time affine maps into convolutions (eval only; the block can no longer train).

        Depthwise conv + BN -> one conv; layer scale -> the projection; the pre-norm's affine part -> the 1x1 conv
        operator (BatchNorm wholly, LayerNorm's weight/bias). An attention operator keeps its LayerNorm affine:
        tokens padded after the norm must still see the unfolded Q/K/V biases.
        """
        if isinstance(self.dw, DWConvNormAct):
            self.dw.reparameterize()
        if isinstance(self.layer_scale, (LayerScale2d, LayerScale3d)):
            self.proj = fold_scale_after_conv(self.proj, self.layer_scale.gamma)
            self.layer_scale = nn.Identity()
        if isinstance(self.op, ConvExpand):
            if isinstance(self.norm, nn.modules.batchnorm._BatchNorm):
                self.op.conv = fold_affine_before_conv(self.op.conv, *bn_scale_shift(self.norm))
                self.norm = nn.Identity()
            elif isinstance(self.norm, (LayerNorm2d, LayerNorm3d)) and self.norm.elementwise_affine:
                self.op.conv = fold_affine_before_conv(self.op.conv, self.norm.weight, self.norm.bias)
                self.norm = type(self.norm)(self.norm.normalized_shape[0], eps=self.norm.eps, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.op(self.norm(x))
        x = x + self.dw(x) if self.has_dw_skip else self.dw(x)
        x = self.layer_scale(self.proj(x))
        return shortcut + self.drop_path(x) if self.has_skip else x


def norm_layer_default(spatial_dims: int):
    """BatchNorm (eps 1e-6) for the maps' dimensionality."""
    return norm_layer("bn", spatial_dims)
