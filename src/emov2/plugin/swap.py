"""``swap_blocks``: replace every transformer block of a DeiT/ViT (timm) or PVT v1 by one Meta Mobile Block (paper
Tab. III, "plug-in" use of iRMB / i2RMB).

Each block (attention + MLP, two residuals) becomes one :class:`emov2.layers.MetaMobileBlock` of the same width
``C`` (one residual): LayerNorm2d pre-norm, an attention operator whose V expands to ``λC`` (λ = the block's MLP
ratio: 4 in DeiT, 8/8/4/4 in PVT), a depthwise conv (3x3 for iRMB, 5x5 for i2RMB) + BatchNorm + SiLU, a 1x1
projection ``λC -> C`` without bias and layer scale (1e-6). The operator is

- DeiT: window attention on the 14 x 14 token grid, 7 x 7 windows, DeiT's heads (3 of 64 channels); iRMB uses
  EMOv1's remote (dilated) windows, i2RMB EMOv2's spanning attention (remote + close windows, shared Q/K/V);
- PVT: PVT's own spatial-reduction attention (the ``sr x sr`` conv + LayerNorm for K/V kept) for both.

Class token: the blocks work on the token grid, where a class token has no place, so it is removed (with its
position embedding) and the head reads the average of the tokens (timm ``global_pool='avg'``), as PVT v2 did when
it put convolutions into PVT's blocks. Routed through the blocks' MLP path alone it would never see the image;
giving it its own attention would add code and parameters the paper's counts do not have. So the swapped models
have 384 (DeiT: 192 + 192) and 1,024 (PVT: 512 + 512) parameters fewer than the arithmetic that keeps them.
"""

from __future__ import annotations

from functools import partial

from timm.layers import LayerNorm2d
from timm.models.vision_transformer import Block, VisionTransformer
from torch import nn

from ..layers import AttentionMode, MetaMobileBlock
from .grid import TokenGridBlock, set_block_operator
from .pvt import PVTBlock, PyramidVisionTransformer
from .sr_attention import SRAttentionOperator

__all__ = ["BLOCK_KINDS", "swap_blocks"]

BLOCK_KINDS = {  # kind -> (depthwise kernel, window partition on a ViT grid)
    "irmb": (3, AttentionMode.REMOTE),
    "i2rmb": (5, AttentionMode.SPANNING),
}


def swap_blocks(model: nn.Module, block: str = "i2rmb", window_size: int = 7) -> nn.Module:
    """Replace, in place, every block of a timm ``VisionTransformer`` (DeiT) or a :class:`PyramidVisionTransformer`
    by a Meta Mobile Block (``block``: ``irmb`` or ``i2rmb``) and drop the class token; returns ``model``.

    ``window_size`` is the attention window on a ViT's token grid (7 on DeiT's 14 x 14); PVT uses its own
    spatial-reduction attention instead.
    """
    if block not in BLOCK_KINDS:
        raise ValueError(f"unknown block {block!r}; choose from {', '.join(BLOCK_KINDS)}")
    if isinstance(model, VisionTransformer):
        return _swap_vit(model, block, window_size)
    if isinstance(model, PyramidVisionTransformer):
        return _swap_pvt(model, block)
    raise TypeError(f"swap_blocks supports timm VisionTransformer (DeiT) and PVT v1, not {type(model).__name__}")


def _mmblock(dim: int, exp_ratio: float, block: str, drop_path: float, **attn) -> MetaMobileBlock:
    kernel, _ = BLOCK_KINDS[block]
    return MetaMobileBlock(
        dim, dim, exp_ratio=exp_ratio, norm_layer=partial(LayerNorm2d, eps=1e-6), act_layer=nn.GELU,
        dw_kernel_size=kernel, dw_norm_layer=nn.BatchNorm2d, dw_act_layer=nn.SiLU, layer_scale_init=1e-6,
        drop_path=drop_path, **attn,
    )


def _drop_prob(module: nn.Module) -> float:
    return float(getattr(module, "drop_prob", 0.0))


def _swap_vit(model: VisionTransformer, block: str, window_size: int) -> VisionTransformer:
    if model.reg_token is not None or getattr(model, "dynamic_img_size", False):
        raise ValueError("swap_blocks needs a ViT without register tokens and with a fixed img_size")
    grid = tuple(model.patch_embed.grid_size)
    new = []
    for blk in model.blocks:
        if not isinstance(blk, Block):
            raise TypeError(f"expected timm vision_transformer.Block, got {type(blk).__name__}")
        dim = blk.norm1.normalized_shape[0]
        mm = _mmblock(dim, blk.mlp.fc1.out_features / dim, block, _drop_prob(blk.drop_path1),
                      attn_mode=BLOCK_KINDS[block][1], dim_head=dim // blk.attn.num_heads, window_size=window_size)
        new.append(TokenGridBlock(mm, grid))
    model.blocks = nn.Sequential(*new)
    if model.cls_token is not None:
        if not model.no_embed_class:
            model.pos_embed = nn.Parameter(model.pos_embed.data[:, 1:].clone())
        model.cls_token = None
        model.num_prefix_tokens -= 1
        model.has_class_token = False
        if model.global_pool == "token":
            model.global_pool = "avg"
    return model


def _swap_pvt(model: PyramidVisionTransformer, block: str) -> PyramidVisionTransformer:
    for i, stage in enumerate(model.stages):
        dim, ratio, sr, heads = model.embed_dims[i], model.mlp_ratios[i], model.sr_ratios[i], model.num_heads[i]
        new = nn.ModuleList()
        for blk in stage:
            if not isinstance(blk, PVTBlock):
                raise TypeError(f"expected PVTBlock, got {type(blk).__name__}")
            mm = _mmblock(dim, ratio, block, _drop_prob(blk.drop_path))
            set_block_operator(mm, SRAttentionOperator(dim, int(dim * ratio), heads, sr))
            new.append(TokenGridBlock(mm))
        model.stages[i] = new
    model.cls_token = None
    model.cls_pos_embed = None
    return model
