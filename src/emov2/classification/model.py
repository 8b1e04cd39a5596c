"""Builds the classifier of a run: an EMOv2 variant through :func:`emov2.create_model`, or any other timm model
(for peer comparisons) through ``timm.create_model``; both start from random weights unless a local
checkpoint is given."""

from __future__ import annotations

import timm
from torch import nn

from .. import plugin  # noqa: F401  (registers the DeiT / PVT plug-in models with timm)
from ..models import VARIANTS, create_model
from ..models.weights import load_state_dict, load_weights

__all__ = ["build_classifier"]


def build_classifier(name: str, num_classes: int, *, drop_path: float | None = None, window_size: int | None = None,
                     checkpoint: str | None = None, drop_head: bool = True, model_kwargs: dict | None = None
                     ) -> nn.Module:
    """``name``: an EMOv2 variant or a timm model name; ``checkpoint`` (optional) initialises the weights, with a
    fresh classifier when its classes differ and ``drop_head``; ``model_kwargs`` go to the model's constructor."""
    extra = dict(model_kwargs or {})
    if name in VARIANTS:
        return create_model(name, checkpoint=checkpoint, drop_head=drop_head, num_classes=num_classes,
                            drop_path_rate=drop_path, window_size=window_size, **extra)
    if name not in timm.list_models():
        raise ValueError(f"unknown model {name!r}: an EMOv2 variant ({', '.join(VARIANTS)}) or a timm model name")
    kwargs = {"num_classes": num_classes, **extra}
    if window_size is not None:  # the plug-in models (deit_tiny_i2rmb, ...) take a window
        kwargs["window_size"] = window_size
    if drop_path is not None:
        kwargs["drop_path_rate"] = drop_path
    model = timm.create_model(name, **kwargs)
    if checkpoint:
        load_weights(model, load_state_dict(checkpoint), name=name, source=str(checkpoint), drop_head=drop_head)
    return model
