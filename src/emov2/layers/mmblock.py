"""The Meta Mobile Block: one residual block that i2RMB (EMOv2), iRMB (EMOv1) and a plain IRB configure.

    x -> Norm -> F (1x1 expansion, or window attention whose V expands) -> [+] DW kxk + BN + act
      -> 1x1 projection -> layer scale -> drop path -> (+ x)

The inner skip around the depthwise conv and the outer residual exist only when the block keeps its
shape (stride 1, same width); a downsampling block is a plain inverted bottleneck without residual.
"""

from __future__ import annotations

from functools import partial

import torch
from timm.layers import ConvNormAct, DropPath, LayerNorm2d, LayerScale2d, create_act_layer
from torch import nn

from .attention import AttentionMode, WindowAttention
from .dwconv import DepthwiseConv2d
from .fuse import bn_scale_shift, fold_affine_before_conv, fold_bn_after_conv, fold_scale_after_conv
from .pwconv import PointwiseConv2d

__all__ = ["BatchNorm2dEps6", "ConvExpand", "MetaMobileBlock"]

BatchNorm2dEps6 = partial(nn.BatchNorm2d, eps=1e-6)  # the official code uses eps 1e-6 for every norm


class ConvExpand(nn.Module):
    """The conv operator of an MMBlock: 1x1 conv C -> M with bias, then activation (in place where the activation
    supports it: the conv output is a fresh tensor, and on the large expanded maps of stage 1 the saved allocation
    is measurable)."""

    def __init__(self, dim: int, dim_out: int, *, act_layer: type[nn.Module] = nn.SiLU, bias: bool = True) -> None:
        super().__init__()
        self.conv = PointwiseConv2d(dim, dim_out, bias=bias)
        self.act = create_act_layer(act_layer, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class MetaMobileBlock(nn.Module):
    """Meta Mobile Block, (B, C_in, H, W) -> (B, C_out, H/stride, W/stride).

    Args:
        in_chs, out_chs: input and output widths.
        exp_ratio: expansion λ; the middle width is ``int(in_chs * exp_ratio)``.
        stride: stride of the depthwise conv (2 for the first block of a stage).
        norm_layer: pre-norm class (BatchNorm2d in stages 1-2, LayerNorm2d in 3-4).
        act_layer: activation of the operator (SiLU or GELU).
        attn_mode: ``None`` gives the 1x1 conv operator; otherwise window attention in that mode.
        dim_head, window_size, qkv_bias: attention settings.
        dw_kernel_size: depthwise kernel; 0 drops the depthwise conv.
        dw_norm_layer, dw_act_layer: norm and activation after the depthwise conv (BN + SiLU in EMOv2).
        layer_scale_init: initial per-channel scale; <= 0 disables layer scale.
        drop_path: stochastic depth rate of the residual branch.
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        *,
        exp_ratio: float,
        stride: int = 1,
        norm_layer: type[nn.Module] = BatchNorm2dEps6,
        act_layer: type[nn.Module] = nn.SiLU,
        attn_mode: AttentionMode | None = None,
        dim_head: int = 32,
        window_size: int = 7,
        qkv_bias: bool = True,
        dw_kernel_size: int = 5,
        dw_norm_layer: type[nn.Module] = nn.BatchNorm2d,
        dw_act_layer: type[nn.Module] = nn.SiLU,
        layer_scale_init: float = 1e-6,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        mid_chs = int(in_chs * exp_ratio)
        self.has_skip = in_chs == out_chs and stride == 1
        self.norm = norm_layer(in_chs)
        if attn_mode is None:
            self.op = ConvExpand(in_chs, mid_chs, act_layer=act_layer, bias=qkv_bias)
        else:
            self.op = WindowAttention(
                in_chs, mid_chs, mode=attn_mode, dim_head=dim_head, window_size=window_size,
                qkv_bias=qkv_bias, act_layer=act_layer,
            )
        if dw_kernel_size > 0:
            self.dw = ConvNormAct(
                mid_chs, mid_chs, dw_kernel_size, stride=stride, groups=mid_chs, bias=False,
                norm_layer=dw_norm_layer, act_layer=dw_act_layer, norm_kwargs=dict(eps=1e-6),
            )
            k = dw_kernel_size
            self.dw.conv = DepthwiseConv2d(
                mid_chs, mid_chs, k, stride=stride, padding=k // 2, groups=mid_chs, bias=False
            )
        elif stride == 1:
            self.dw = nn.Identity()
        else:
            raise ValueError("a strided block needs a depthwise conv (dw_kernel_size > 0)")
        self.proj = PointwiseConv2d(mid_chs, out_chs, bias=False)
        self.layer_scale = LayerScale2d(out_chs, layer_scale_init) if layer_scale_init > 0 else nn.Identity()
        self.drop_path = DropPath(drop_path) if drop_path > 0 and self.has_skip else nn.Identity()

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Fold inference-time affine maps into convolutions (eval only; the block can no longer train).

        Depthwise conv + BN -> one conv; layer scale -> the projection; the pre-norm's affine part -> the 1x1 conv
        operator (BatchNorm wholly, LayerNorm's weight/bias). An attention operator keeps its LayerNorm affine:
        tokens padded after the norm must still see the unfolded Q/K/V biases.
        """
        if isinstance(self.dw, ConvNormAct) and isinstance(self.dw.bn, nn.BatchNorm2d):
            self.dw.conv = fold_bn_after_conv(self.dw.conv, self.dw.bn)
            self.dw.bn = self.dw.bn.act if hasattr(self.dw.bn, "act") else nn.Identity()
        if isinstance(self.layer_scale, LayerScale2d):
            self.proj = fold_scale_after_conv(self.proj, self.layer_scale.gamma)
            self.layer_scale = nn.Identity()
        if isinstance(self.op, ConvExpand):
            if isinstance(self.norm, nn.BatchNorm2d):
                self.op.conv = fold_affine_before_conv(self.op.conv, *bn_scale_shift(self.norm))
                self.norm = nn.Identity()
            elif isinstance(self.norm, LayerNorm2d) and self.norm.elementwise_affine:
                self.op.conv = fold_affine_before_conv(self.op.conv, self.norm.weight, self.norm.bias)
                self.norm = LayerNorm2d(self.norm.normalized_shape[0], eps=self.norm.eps, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.op(self.norm(x))
        x = x + self.dw(x) if self.has_skip else self.dw(x)
        x = self.layer_scale(self.proj(x))
        return shortcut + self.drop_path(x) if self.has_skip else x
