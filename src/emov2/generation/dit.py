"""The diffusion-transformer skeleton shared by DiT and D-EMOv2 (DiT, Peebles & Xie 2023, arXiv 2212.09748).

    x (N, C, H, W) -> patch embedding + fixed sin-cos positions -> tokens (N, T, D)
    t (N,) -> timestep embedder, y (N,) -> label embedder (with CFG dropout); c = t_emb + y_emb (N, D)
    depth x block(tokens, c) -> final adaLN layer -> unpatchify -> (N, C_out, H, W)

``C_out = 2 C`` with ``learn_sigma`` (the noise prediction then the variance interpolation values).
"""

from __future__ import annotations

import torch
from timm.layers import PatchEmbed
from torch import nn

from .blocks import DEMOBlock, DiTBlock, FinalLayer
from .embedders import LabelEmbedder, TimestepEmbedder, sincos_pos_embed_2d

__all__ = ["BLOCKS", "DiffusionTransformer"]

BLOCKS = {"dit": DiTBlock, "demo": DEMOBlock}


class DiffusionTransformer(nn.Module):
    """Class-conditional diffusion backbone with adaLN-Zero blocks; ``block`` picks DiT or D-EMOv2 blocks.

    Args:
        input_size: side of the (latent or pixel) input.
        patch_size: side of a patch; the token grid is ``input_size / patch_size`` squared.
        in_channels: input channels (4 for SD-VAE latents, 1 or 3 for pixels).
        hidden_size, depth, num_heads: width, number of blocks, heads.
        mlp_ratio: MLP ratio (DiT) or i2RMB expansion λ (D-EMOv2).
        class_dropout_prob: probability of replacing a label by the null class in training (CFG).
        num_classes: number of classes.
        learn_sigma: also predict the variance (output channels doubled).
        block: ``'dit'`` or ``'demo'``.
        final_norm_affine: learnable affine of the final LayerNorm.
        block_kwargs: extra block settings (D-EMOv2: window_size, attn_mode, dw_kernel_size, dw_norm).
    """

    def __init__(
        self,
        *,
        input_size: int = 32,
        patch_size: int = 2,
        in_channels: int = 4,
        hidden_size: int = 1152,
        depth: int = 28,
        num_heads: int = 16,
        mlp_ratio: float = 4.0,
        class_dropout_prob: float = 0.1,
        num_classes: int = 1000,
        learn_sigma: bool = True,
        block: str = "dit",
        final_norm_affine: bool = False,
        **block_kwargs,
    ) -> None:
        super().__init__()
        if input_size % patch_size:
            raise ValueError(f"input size {input_size} is not a multiple of the patch size {patch_size}")
        if block not in BLOCKS:
            raise ValueError(f"block must be one of {sorted(BLOCKS)}, got {block!r}")
        self.in_channels = in_channels
        self.out_channels = in_channels * 2 if learn_sigma else in_channels
        self.learn_sigma = learn_sigma
        self.patch_size = patch_size
        self.input_size = input_size
        self.num_classes = num_classes
        self.grid = (input_size // patch_size, input_size // patch_size)

        self.x_embedder = PatchEmbed(input_size, patch_size, in_channels, hidden_size, bias=True)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.y_embedder = LabelEmbedder(num_classes, hidden_size, class_dropout_prob)
        num_tokens = self.grid[0] * self.grid[1]
        # Fixed positions; kept as a (frozen) parameter so parameter counts compare with DiT's logs.
        self.pos_embed = nn.Parameter(torch.zeros(1, num_tokens, hidden_size), requires_grad=False)
        self.blocks = nn.ModuleList(
            [BLOCKS[block](hidden_size, num_heads, mlp_ratio, **block_kwargs) for _ in range(depth)]
        )
        self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels, norm_affine=final_norm_affine)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        if self.pos_embed.is_meta:  # meta-device builds (parameter counting) skip initialisation
            return

        # Linear layers (and the 1x1 convs of window attention): Xavier uniform, zero bias.
        def _basic_init(m: nn.Module) -> None:
            if isinstance(m, nn.Linear) or (isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)):
                nn.init.xavier_uniform_(m.weight.view(m.weight.shape[0], -1))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

        self.apply(_basic_init)

        # Fixed sin-cos positions.
        self.pos_embed.data.copy_(sincos_pos_embed_2d(self.pos_embed.shape[-1], *self.grid).unsqueeze(0))

        # Patch embedding like a linear layer.
        w = self.x_embedder.proj.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.proj.bias)

        # Embedders: normal(0.02).
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)

        # adaLN-Zero: every modulation layer, and the output layer, start at zero.
        for blk in self.blocks:
            nn.init.zeros_(blk.adaLN_modulation[-1].weight)
            nn.init.zeros_(blk.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].weight)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T, p*p*C_out) -> (N, C_out, H, W)."""
        n = x.shape[0]
        gh, gw = self.grid
        p, c = self.patch_size, self.out_channels
        x = x.reshape(n, gh, gw, p, p, c).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(n, c, gh * p, gw * p)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor, force_drop: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x: (N, C, H, W) noisy input; t: (N,) timesteps; y: (N,) labels -> (N, C_out, H, W).

        ``force_drop`` (N,) bool replaces the marked labels by the null class (unconditional branch of CFG).
        """
        x = self.x_embedder(x) + self.pos_embed  # (N, T, D)
        c = self.t_embedder(t) + self.y_embedder(y, self.training, force_drop)  # (N, D)
        for block in self.blocks:
            x = block(x, c, self.grid)  # (N, T, D)
        x = self.final_layer(x, c)  # (N, T, p*p*C_out)
        return self.unpatchify(x)  # (N, C_out, H, W)

    def forward_with_cfg(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor, cfg_scale: float) -> torch.Tensor:
        """Classifier-free guidance in one batched pass: x (N, C, H, W), t (N,), y (N,) -> (N, C_out, H, W).

        The noise channels become ``eps_uncond + s (eps_cond - eps_uncond)``; learned-variance channels are
        taken from the conditional branch.
        """
        if cfg_scale == 1.0:
            return self.forward(x, t, y)
        n = x.shape[0]
        drop = torch.cat([torch.zeros(n, dtype=torch.bool), torch.ones(n, dtype=torch.bool)]).to(x.device)
        out = self.forward(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, y]), force_drop=drop)
        cond, uncond = out[:n], out[n:]
        c = self.in_channels
        eps = uncond[:, :c] + cfg_scale * (cond[:, :c] - uncond[:, :c])
        return torch.cat([eps, cond[:, c:]], dim=1)
