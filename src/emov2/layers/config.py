"""Kernel choices of the layers, fixed per module: set at construction, or changed here once (never per forward).

At construction: ``exportable`` / ``impl`` / ``fused_attn`` / ``device`` arguments, or timm's context
``with timm.layers.set_layer_config(exportable=True): timm.create_model('emov2_5m')``. On a built model:
:func:`configure_layers` (lasting) or :func:`exportable_layers` (for the duration of an export).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

from .attention import WindowAttention
from .dwconv import DepthwiseConv2d
from .pwconv import PointwiseConv2d, PointwiseConv3d

__all__ = ["configure_layers", "exportable_layers", "layer_settings"]

_CONVS = (PointwiseConv2d, PointwiseConv3d, DepthwiseConv2d)


def configure_layers(model: nn.Module, *, exportable: bool | None = None, attn_impl: str | None = None,
                     fused_attn: bool | None = None) -> nn.Module:
    """Set the kernel choices of every EMOv2 layer in ``model`` (``None`` keeps a setting); returns ``model``.

    ``exportable``: plain convolutions and the portable gather attention (ONNX, ExecuTorch, Core ML, symbolic
    sizes); ``attn_impl``: ``auto`` / ``reference`` / ``gather`` / ``permute``; ``fused_attn``: SDPA attention
    (e.g. ``True`` for a model built on CPU and moved to a GPU).
    """
    for m in model.modules():
        if isinstance(m, WindowAttention):
            m.configure(impl=attn_impl, exportable=exportable, fused_attn=fused_attn)
        elif isinstance(m, _CONVS) and exportable is not None:
            m.exportable = exportable
    return model


def layer_settings(model: nn.Module) -> dict[str, tuple]:
    """The current choices per module name (to restore them)."""
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, WindowAttention):
            out[name] = (m.requested_impl, m.qk.exportable, m.fused_attn)
        elif isinstance(m, _CONVS):
            out[name] = (m.exportable,)
    return out


@contextmanager
def exportable_layers(model: nn.Module) -> Iterator[nn.Module]:
    """``with exportable_layers(model): torch.export.export(model, ...)``: portable layers inside, the model's own
    choices restored after."""
    saved = layer_settings(model)
    configure_layers(model, exportable=True)
    try:
        yield model
    finally:
        modules = dict(model.named_modules())
        for name, values in saved.items():
            m = modules[name]
            if isinstance(m, WindowAttention):
                impl, exportable, fused = values
                m.configure(impl=impl, exportable=exportable, fused_attn=fused)
            else:
                m.exportable = values[0]
