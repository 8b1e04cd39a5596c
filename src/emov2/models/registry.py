"""Registers every EMOv2 variant with timm (``timm.create_model('emov2_5m', features_only=True)``)."""

from __future__ import annotations

import sys

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model

from .emov2 import EMOv2
from .variants import VARIANTS

__all__ = list(VARIANTS)


def _cfg(**kwargs) -> dict:
    return {
        "url": "",
        "num_classes": 1000,
        "input_size": (3, 224, 224),
        "pool_size": (7, 7),
        "crop_pct": 0.875,
        "interpolation": "bicubic",
        "mean": IMAGENET_DEFAULT_MEAN,
        "std": IMAGENET_DEFAULT_STD,
        "first_conv": "stem.conv1.conv",
        "classifier": "head",
        "license": "apache-2.0",
        **kwargs,
    }


default_cfgs = generate_default_cfgs({name: _cfg() for name in VARIANTS})


def _create(variant: str, pretrained: bool = False, **kwargs) -> EMOv2:
    model_kwargs = {**VARIANTS[variant].model_kwargs(), **kwargs}
    return build_model_with_cfg(
        EMOv2, variant, pretrained,
        feature_cfg=dict(out_indices=(0, 1, 2, 3, 4), flatten_sequential=True),
        **model_kwargs,
    )


def _make_entrypoint(variant: str):
    def entrypoint(pretrained: bool = False, **kwargs) -> EMOv2:
        return _create(variant, pretrained=pretrained, **kwargs)

    entrypoint.__name__ = entrypoint.__qualname__ = variant
    entrypoint.__module__ = __name__
    entrypoint.__doc__ = f"EMOv2 {variant.split('_')[1].upper()} (official config ``{variant}``)."
    return entrypoint


_module = sys.modules[__name__]
for _name in VARIANTS:
    setattr(_module, _name, register_model(_make_entrypoint(_name)))
