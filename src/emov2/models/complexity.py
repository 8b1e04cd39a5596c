"""Parameter and MAC counting.

``count_macs`` counts multiply-accumulates of convolutions and matrix products, attention included
(``FlopCounterMode`` sees SDPA's matmuls). The paper's numbers come from fvcore, which also charges
normalisation layers (BatchNorm 2 ops/element in eval, LayerNorm 5 ops/element); ``fvcore_style=True``
adds those so the two can be compared like for like.
"""

from __future__ import annotations

from math import prod

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["count_macs", "count_params"]

aten = torch.ops.aten


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _norm_cost(per_element: int):
    # FlopCounterMode halves nothing: it expects FLOPs, we store 2 * ops so that macs = flops / 2 stays uniform.
    def cost(input_shape, *args, out_shape=None, **kwargs) -> int:
        return 2 * per_element * prod(input_shape)

    return cost


_FVCORE_NORMS = {
    aten._native_batch_norm_legit_no_training: _norm_cost(2),
    aten.native_batch_norm: _norm_cost(2),
    aten._native_batch_norm_legit: _norm_cost(2),
    aten.native_layer_norm: _norm_cost(5),
}


@torch.no_grad()
def count_macs(model: nn.Module, input_size: tuple[int, ...] = (3, 224, 224), fvcore_style: bool = False) -> int:
    """MACs of one forward pass at batch 1 in eval mode (the model's mode is restored); ``input_size`` is one
    sample's shape: (C, H, W), or (C, T, H, W) for a video model."""
    was_training = model.training
    model.eval()
    param = next(model.parameters(), None)
    x = torch.zeros(1, *input_size, device=param.device if param is not None else "cpu",
                    dtype=param.dtype if param is not None else torch.float32)
    try:
        with FlopCounterMode(display=False, custom_mapping=_FVCORE_NORMS if fvcore_style else None) as counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2
