"""Blocks of the diffusion transformer: DiT's transformer block and the D-EMOv2 i2RMB block, both adaLN-Zero.

Every block maps tokens (N, T, D) and a condition (N, D) to tokens (N, T, D). Its modulation layer is
zero-initialised by the model, so its residual gate is 0 and the block is the identity at initialisation.
"""

from __future__ import annotations

import torch
from timm.layers import LayerNorm2d, Mlp
from timm.models.vision_transformer import Attention
from torch import nn

from ..layers import AttentionMode, WindowAttention
from .embedders import modulate

__all__ = ["DEMOBlock", "DiTBlock", "FinalLayer"]


class DiTBlock(nn.Module):
    """DiT block: adaLN-Zero MHSA then adaLN-Zero MLP; 6 modulation vectors (shift/scale/gate twice).

    Parameters: 18 D^2 + 15 D (qkv 3D^2, proj D^2, MLP 8D^2, modulation 6D^2).
    """

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float = 4.0, **_) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads=num_heads, qkv_bias=True)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio), act_layer=lambda: nn.GELU(approximate="tanh"))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))

    def forward(self, x: torch.Tensor, c: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_a.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_a, scale_a))
        x = x + gate_m.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_m, scale_m))
        return x


class DEMOBlock(nn.Module):
    """D-EMOv2 block: one i2RMB on the token grid, conditioned by adaLN-Zero (3 vectors: shift, scale, gate).

        x -> LN -> modulate -> SEW-MHSA (QK: D -> 2D, V: D -> 4D + GELU, spanning windows)
          -> [+] DW kxk + norm + SiLU (on 4D) -> 1x1 projection 4D -> D (no bias) -> gate -> (+ x)

    The gate replaces the classification block's layer scale (both scale the residual branch per channel and
    start near zero). The DW branch uses a channel LayerNorm instead of BatchNorm by default (``dw_norm``):
    batch statistics mix all noise levels, so BN's running averages misrepresent any single timestep at
    sampling time; LN has the same parameter count (weight and bias per channel).

    Parameters: 13 D^2 + (4 k^2 + 19) D for expansion 4, i.e. 13 D^2 + 119 D for k = 5.
    """

    def __init__(
        self,
        hidden_size: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        *,
        window_size: int = 8,
        attn_mode: AttentionMode | str = AttentionMode.SPANNING,
        dw_kernel_size: int = 5,
        dw_norm: str = "layernorm",
    ) -> None:
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"hidden size {hidden_size} is not a multiple of {num_heads} heads")
        mid = int(hidden_size * mlp_ratio)
        self.norm = nn.LayerNorm(hidden_size, eps=1e-6)
        self.attn = WindowAttention(
            hidden_size, mid, mode=AttentionMode(attn_mode), dim_head=hidden_size // num_heads,
            window_size=window_size, qkv_bias=True, act_layer=nn.GELU,
        )
        self.dw = nn.Conv2d(mid, mid, dw_kernel_size, padding=dw_kernel_size // 2, groups=mid, bias=False)
        if dw_norm == "layernorm":
            self.dw_norm = LayerNorm2d(mid, eps=1e-6)
        elif dw_norm == "batchnorm":
            self.dw_norm = nn.BatchNorm2d(mid, eps=1e-6)
        else:
            raise ValueError(f"dw_norm must be 'layernorm' or 'batchnorm', got {dw_norm!r}")
        self.dw_act = nn.SiLU()
        self.proj = nn.Linear(mid, hidden_size, bias=False)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 3 * hidden_size))

    def forward(self, x: torch.Tensor, c: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        n, t, d = x.shape
        gh, gw = grid
        shift, scale, gate = self.adaLN_modulation(c).chunk(3, dim=1)
        h = modulate(self.norm(x), shift, scale)  # (N, T, D)
        h = h.transpose(1, 2).reshape(n, d, gh, gw)  # token grid (N, D, h, w)
        h = self.attn(h)  # (N, 4D, h, w)
        h = h + self.dw_act(self.dw_norm(self.dw(h)))  # inner skip around the local mixing
        h = self.proj(h.permute(0, 2, 3, 1).reshape(n, t, -1))  # (N, T, D)
        return x + gate.unsqueeze(1) * h


class FinalLayer(nn.Module):
    """adaLN-modulated LayerNorm then a linear map to patch pixels: (N, T, D) -> (N, T, p*p*C_out)."""

    def __init__(self, hidden_size: int, patch_size: int, out_channels: int, norm_affine: bool = False) -> None:
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=norm_affine, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))
