"""Token sequences <-> 2-D maps, so a map block (the Meta Mobile Block) can stand where a transformer block was."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TokenGridBlock", "set_block_operator"]


class TokenGridBlock(nn.Module):
    """Runs a ``(B, C, H, W) -> (B, C, H, W)`` block on ``(B, H*W, C)`` tokens, row-major over an ``H x W`` grid.

    The grid is ``hw`` when the caller passes it (PVT's blocks get the size of their stage), else ``grid_size``.
    The tokens are viewed as a channels-last map (no copy) and the block's output is viewed back.
    """

    def __init__(self, block: nn.Module, grid_size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.block = block
        self.grid_size = None if grid_size is None else tuple(grid_size)

    def forward(self, x: torch.Tensor, hw: tuple[int, int] | None = None) -> torch.Tensor:
        b, n, c = x.shape
        h, w = hw if hw is not None else self.grid_size
        if n != h * w:
            raise ValueError(f"{n} tokens do not form the {h}x{w} grid this block expects (a class or register token "
                             "left in the sequence, or an input size other than the model's img_size)")
        y = self.block(x.view(b, h, w, c).permute(0, 3, 1, 2))  # channels-last (B, C, H, W)
        return y.permute(0, 2, 3, 1).reshape(b, n, -1)


def set_block_operator(block: nn.Module, operator: nn.Module) -> nn.Module:
    """Put ``operator`` ((B, C, H, W) -> (B, M, H, W)) in place of a MetaMobileBlock's efficient operator.

    ``MetaMobileBlock`` builds its operator from ``attn_mode`` (1x1 conv or window attention) and takes no operator
    argument, so a third kind (PVT's spatial-reduction attention) is set here, after construction, in this one place.
    """
    if not isinstance(getattr(block, "op", None), nn.Module):
        raise TypeError(f"{type(block).__name__} has no `op` operator module to replace")
    block.op = operator
    return block
