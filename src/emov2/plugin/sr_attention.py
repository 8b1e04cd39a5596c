"""PVT v1's spatial-reduction attention (Wang et al., "Pyramid Vision Transformer", ICCV 2021), on tokens and as a
Meta Mobile Block operator."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SRAttentionOperator", "SpatialReductionAttention"]


class SpatialReductionAttention(nn.Module):
    """Multi-head attention whose keys and values come from the map reduced ``sr_ratio`` times.

    Tokens ``(B, P + H*W, C)`` (``P`` prefix tokens, e.g. PVT's class token, only with ``sr_ratio == 1``) ->
    ``(B, P + H*W, C_out)``. Queries: ``Linear(C, C)`` on every token. Keys/values: an ``sr x sr`` stride-``sr`` conv
    + LayerNorm shrink the map (``sr_ratio > 1``), then one ``Linear(C, C + dim_v)`` gives K (``C``) and V
    (``dim_v``, through ``v_act``). ``proj`` adds PVT's output ``Linear(dim_v, C)``; ``C_out`` is ``C`` with it and
    ``dim_v`` without.
    """

    def __init__(self, dim: int, num_heads: int, sr_ratio: int = 1, qkv_bias: bool = True, *, dim_v: int | None = None,
                 v_act: type[nn.Module] | None = None, proj: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0) -> None:
        super().__init__()
        dim_v = dim if dim_v is None else dim_v
        if dim % num_heads or dim_v % num_heads:
            raise ValueError(f"dims {dim} / {dim_v} are not multiples of {num_heads} heads")
        self.num_heads, self.dim_v, self.sr_ratio, self.attn_drop = num_heads, dim_v, sr_ratio, attn_drop
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, dim + dim_v, bias=qkv_bias)
        self.v_act = v_act() if v_act is not None else nn.Identity()
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(dim, eps=1e-5)
        self.proj = nn.Linear(dim_v, dim) if proj else nn.Identity()
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        b, n, c = x.shape
        heads = self.num_heads
        q = self.q(x).view(b, n, heads, -1).transpose(1, 2)  # (B, heads, N, C/heads)
        src = x
        if self.sr_ratio > 1:
            h, w = hw
            if n != h * w:
                raise ValueError("spatial reduction needs a pure H*W token grid (no prefix tokens)")
            src = self.sr(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)  # (B, HW/sr^2, C)
            src = self.norm(src)
        k, v = self.kv(src).split([c, self.dim_v], dim=-1)
        k = k.reshape(b, -1, heads, c // heads).transpose(1, 2)
        v = self.v_act(v).reshape(b, -1, heads, self.dim_v // heads).transpose(1, 2)
        o = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop if self.training else 0.0)
        return self.proj_drop(self.proj(o.transpose(1, 2).reshape(b, n, self.dim_v)))


class SRAttentionOperator(nn.Module):
    """:class:`SpatialReductionAttention` as a Meta Mobile Block operator, ``(B, C, H, W) -> (B, M, H, W)``:
    queries at every pixel, K/V from the reduced map, V expanded to ``M`` with GELU (as an i2RMB's V), no output
    projection (the block's 1x1 projection follows)."""

    def __init__(self, dim: int, dim_out: int, num_heads: int, sr_ratio: int = 1, qkv_bias: bool = True,
                 attn_drop: float = 0.0) -> None:
        super().__init__()
        self.attn = SpatialReductionAttention(dim, num_heads, sr_ratio, qkv_bias, dim_v=dim_out, v_act=nn.GELU,
                                              proj=False, attn_drop=attn_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = self.attn(x.permute(0, 2, 3, 1).reshape(b, h * w, c), (h, w))  # (B, HW, M)
        return y.view(b, h, w, -1).permute(0, 3, 1, 2)
