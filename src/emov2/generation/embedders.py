"""Conditioning and position embeddings of the diffusion transformer skeleton (DiT, Peebles & Xie 2023).

Shapes: ``N`` batch, ``T`` tokens, ``D`` hidden width.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["LabelEmbedder", "TimestepEmbedder", "modulate", "sincos_pos_embed_2d"]


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN modulation of tokens: x (N, T, D), shift/scale (N, D) -> x * (1 + scale) + shift."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def timestep_frequencies(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal features of (possibly fractional) timesteps: t (N,) -> (N, dim) as [cos, sin]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class TimestepEmbedder(nn.Module):
    """Scalar timesteps -> vectors: sinusoidal features (256) then a 2-layer SiLU MLP, (N,) -> (N, D)."""

    def __init__(self, hidden_size: int, frequency_size: int = 256) -> None:
        super().__init__()
        self.frequency_size = frequency_size
        self.mlp = nn.Sequential(
            nn.Linear(frequency_size, hidden_size), nn.SiLU(), nn.Linear(hidden_size, hidden_size)
        )

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(timestep_frequencies(t, self.frequency_size))


class LabelEmbedder(nn.Module):
    """Class labels -> vectors, (N,) -> (N, D); with ``dropout_prob > 0`` an extra "null" class (index
    ``num_classes``) replaces labels at random during training, for classifier-free guidance."""

    def __init__(self, num_classes: int, hidden_size: int, dropout_prob: float) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.dropout_prob = dropout_prob
        self.embedding_table = nn.Embedding(num_classes + int(dropout_prob > 0), hidden_size)

    def drop(self, y: torch.Tensor, force_drop: torch.Tensor | None = None) -> torch.Tensor:
        """Replace labels by the null class: at random (prob ``dropout_prob``) or where ``force_drop`` is true."""
        if force_drop is None:
            force_drop = torch.rand(y.shape[0], device=y.device) < self.dropout_prob
        return torch.where(force_drop.bool(), torch.full_like(y, self.num_classes), y)

    def forward(self, y: torch.Tensor, train: bool, force_drop: torch.Tensor | None = None) -> torch.Tensor:
        if (train and self.dropout_prob > 0) or force_drop is not None:
            y = self.drop(y, force_drop)
        return self.embedding_table(y)


def sincos_pos_embed_2d(dim: int, grid_h: int, grid_w: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine positions (MAE/DiT layout): half the channels encode the row, half the column.

    Returns (grid_h * grid_w, dim), tokens in row-major order.
    """
    if dim % 4:
        raise ValueError(f"sin-cos position embedding needs a width divisible by 4, got {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim / 4.0))

    def encode(pos: torch.Tensor) -> torch.Tensor:  # (L,) -> (L, dim/2)
        out = pos.reshape(-1, 1).double() * omega[None]
        return torch.cat([torch.sin(out), torch.cos(out)], dim=1)

    rows, cols = torch.meshgrid(torch.arange(grid_h), torch.arange(grid_w), indexing="ij")
    # DiT builds the grid as (w, h) and encodes grid[0] (the column index) first.
    return torch.cat([encode(cols), encode(rows)], dim=1).float()
