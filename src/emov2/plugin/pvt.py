"""PVT v1 (Wang et al., "Pyramid Vision Transformer", ICCV 2021) from timm layers; timm itself has only PVT v2.

Four stages of patch embedding (conv stride 4, 2, 2, 2 + LayerNorm), learned absolute position embeddings and
transformer blocks with spatial-reduction attention (keys/values from the map shrunk by 8, 4, 2, 1). The class
token joins in stage 4 (where attention is global) and the head reads it. PVT-Tiny: widths 64/128/320/512, heads
1/2/5/8, MLP ratios 8/8/4/4, depths 2/2/2/2 -> 13,229,288 parameters at 224 px.
"""

from __future__ import annotations

from functools import partial

import torch
from timm.layers import DropPath, Mlp, PatchEmbed, resample_abs_pos_embed, trunc_normal_
from torch import nn

from .sr_attention import SpatialReductionAttention

__all__ = ["PVTBlock", "PyramidVisionTransformer"]

LayerNormEps6 = partial(nn.LayerNorm, eps=1e-6)


class PVTBlock(nn.Module):
    """Pre-norm transformer block with spatial-reduction attention; tokens ``(B, N, C)`` of an ``hw`` map."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, sr_ratio: int, qkv_bias: bool = True,
                 drop_path: float = 0.0) -> None:
        super().__init__()
        self.norm1 = LayerNormEps6(dim)
        self.attn = SpatialReductionAttention(dim, num_heads, sr_ratio, qkv_bias)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = LayerNormEps6(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=nn.GELU)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), hw))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PyramidVisionTransformer(nn.Module):
    """PVT v1 classifier, ``(B, in_chans, H, W) -> (B, num_classes)`` (H, W multiples of 32).

    Args:
        img_size: the size position embeddings are made for (other sizes resample them, as PVT v1 does).
        embed_dims, num_heads, mlp_ratios, depths, sr_ratios: per stage.
        class_token: PVT v1's class token in stage 4 (the head reads it); without it the head averages the
            stage-4 tokens (the Meta Mobile Block versions, whose blocks work on a token grid).
        drop_rate, drop_path_rate: head dropout; stochastic depth rising linearly over all blocks.
    """

    def __init__(
        self,
        img_size: int = 224,
        in_chans: int = 3,
        num_classes: int = 1000,
        embed_dims: tuple[int, ...] = (64, 128, 320, 512),
        num_heads: tuple[int, ...] = (1, 2, 5, 8),
        mlp_ratios: tuple[float, ...] = (8, 8, 4, 4),
        depths: tuple[int, ...] = (2, 2, 2, 2),
        sr_ratios: tuple[int, ...] = (8, 4, 2, 1),
        qkv_bias: bool = True,
        class_token: bool = True,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        if img_size % 32:
            raise ValueError(f"img_size must be a multiple of 32, got {img_size}")
        self.num_classes, self.embed_dims = num_classes, tuple(embed_dims)
        self.mlp_ratios, self.sr_ratios, self.num_heads = tuple(mlp_ratios), tuple(sr_ratios), tuple(num_heads)
        self.num_features = self.head_hidden_size = embed_dims[-1]
        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.patch_embeds, self.pos_embeds, self.stages = nn.ModuleList(), nn.ParameterList(), nn.ModuleList()
        size, cin, k = img_size, in_chans, 0
        for i, (dim, depth) in enumerate(zip(embed_dims, depths, strict=True)):
            patch = 4 if i == 0 else 2
            self.patch_embeds.append(PatchEmbed(size, patch, cin, dim, norm_layer=nn.LayerNorm, output_fmt="NHWC",
                                                strict_img_size=False))
            size //= patch
            self.pos_embeds.append(nn.Parameter(torch.zeros(1, size * size, dim)))
            self.stages.append(nn.ModuleList(
                PVTBlock(dim, num_heads[i], mlp_ratios[i], sr_ratios[i], qkv_bias, dpr[k + j]) for j in range(depth)))
            cin, k = dim, k + depth
        self.grid_sizes = [pe.grid_size for pe in self.patch_embeds]
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims[-1])) if class_token else None
        self.cls_pos_embed = nn.Parameter(torch.zeros(1, 1, embed_dims[-1])) if class_token else None
        self.norm = LayerNormEps6(embed_dims[-1])
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(embed_dims[-1], num_classes) if num_classes > 0 else nn.Identity()
        self.apply(_init_weights)
        for p in [*self.pos_embeds, self.cls_token, self.cls_pos_embed]:
            if p is not None:
                trunc_normal_(p, std=0.02)

    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        return {n for n, _ in self.named_parameters() if "pos_embed" in n or n == "cls_token"}

    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        self.num_classes = num_classes
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()

    def _pos_embed(self, i: int, hw: tuple[int, int]) -> torch.Tensor:
        pos = self.pos_embeds[i]
        if tuple(hw) == tuple(self.grid_sizes[i]):
            return pos
        return resample_abs_pos_embed(pos, list(hw), list(self.grid_sizes[i]), num_prefix_tokens=0,
                                      interpolation="bilinear", antialias=False)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> stage-4 tokens ``(B, [1 +] H/32 * W/32, C4)``, normalised."""
        last = len(self.stages) - 1
        for i, (embed, blocks) in enumerate(zip(self.patch_embeds, self.stages, strict=True)):
            x = embed(x)  # (B, h, w, C)
            b, h, w, c = x.shape
            x = x.reshape(b, h * w, c) + self._pos_embed(i, (h, w))
            if i == last and self.cls_token is not None:
                x = torch.cat([(self.cls_token + self.cls_pos_embed).expand(b, -1, -1), x], dim=1)
            for blk in blocks:
                x = blk(x, (h, w))
            if i < last:
                x = x.view(b, h, w, c).permute(0, 3, 1, 2)
        return self.norm(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = x[:, 0] if self.cls_token is not None else x.mean(dim=1)
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _init_weights(m: nn.Module) -> None:
    """PVT v1's init: Linear trunc-normal(0.02) with zero bias, LayerNorm 1 / 0 (convs keep PyTorch's default)."""
    if isinstance(m, nn.Linear):
        trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
