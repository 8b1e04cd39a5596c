"""Building blocks: the generic Meta Mobile Block and window attention."""

from .attention import AttentionMode, WindowAttention, window_index
from .dwconv import DepthwiseConv2d
from .fuse import fold_affine_before_conv, fold_bn_after_conv, fold_scale_after_conv
from .mmblock import ConvExpand, MetaMobileBlock
from .pwconv import PointwiseConv2d

__all__ = [
    "AttentionMode",
    "ConvExpand",
    "DepthwiseConv2d",
    "MetaMobileBlock",
    "PointwiseConv2d",
    "WindowAttention",
    "fold_affine_before_conv",
    "fold_bn_after_conv",
    "fold_scale_after_conv",
    "window_index",
]
