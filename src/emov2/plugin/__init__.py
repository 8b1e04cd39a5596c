"""Plug-in use of the Meta Mobile Block (paper Tab. III): iRMB / i2RMB in place of DeiT-Tiny's and PVT-Tiny's
transformer blocks. ``import emov2.plugin`` registers ``deit_tiny_irmb``, ``deit_tiny_i2rmb``, ``pvt_tiny``,
``pvt_tiny_irmb`` and ``pvt_tiny_i2rmb`` with timm."""

from . import registry  # noqa: F401  (registers the models with timm)
from .grid import TokenGridBlock
from .pvt import PyramidVisionTransformer
from .sr_attention import SpatialReductionAttention, SRAttentionOperator
from .swap import BLOCK_KINDS, swap_blocks

__all__ = [
    "BLOCK_KINDS", "PyramidVisionTransformer", "SRAttentionOperator", "SpatialReductionAttention", "TokenGridBlock",
    "swap_blocks",
]
