"""Building blocks: the generic Meta Mobile Block and window attention."""

from .attention import AttentionMode, WindowAttention, window_partition, window_reverse
from .mmblock import ConvExpand, MetaMobileBlock

__all__ = [
    "AttentionMode",
    "ConvExpand",
    "MetaMobileBlock",
    "WindowAttention",
    "window_partition",
    "window_reverse",
]
