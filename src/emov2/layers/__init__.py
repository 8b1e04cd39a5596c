"""Building blocks for 2-D and 3-D maps: the generic Meta Mobile Block and window attention."""

from .attention import ATTENTION_IMPLS, AttentionMode, WindowAttention, resolve_attn_impl
from .config import configure_layers, exportable_layers, layer_settings
from .dwconv import DepthwiseConv2d
from .fuse import fold_affine_before_conv, fold_bn_after_conv, fold_scale_after_conv
from .mmblock import ConvExpand, DWConvNormAct, MetaMobileBlock
from .norm import EPS, LayerNorm3d, LayerScale3d, norm_layer
from .pwconv import PointwiseConv2d, PointwiseConv3d, create_pointwise
from .window import window_index, window_partition, window_reverse

__all__ = [
    "ATTENTION_IMPLS",
    "EPS",
    "AttentionMode",
    "ConvExpand",
    "DWConvNormAct",
    "DepthwiseConv2d",
    "LayerNorm3d",
    "LayerScale3d",
    "MetaMobileBlock",
    "PointwiseConv2d",
    "PointwiseConv3d",
    "WindowAttention",
    "configure_layers",
    "create_pointwise",
    "exportable_layers",
    "fold_affine_before_conv",
    "fold_bn_after_conv",
    "fold_scale_after_conv",
    "layer_settings",
    "norm_layer",
    "resolve_attn_impl",
    "window_index",
    "window_partition",
    "window_reverse",
]
