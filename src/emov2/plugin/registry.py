"""timm registrations: ``deit_tiny_irmb``, ``deit_tiny_i2rmb``, ``pvt_tiny``, ``pvt_tiny_irmb``, ``pvt_tiny_i2rmb``
(random initialisation only: there are no pretrained weights)."""

from __future__ import annotations

import timm
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model

from .pvt import PyramidVisionTransformer
from .swap import swap_blocks

__all__ = ["deit_tiny_i2rmb", "deit_tiny_irmb", "pvt_tiny", "pvt_tiny_i2rmb", "pvt_tiny_irmb"]


def _cfg(**kwargs) -> dict:
    return {"url": "", "num_classes": 1000, "input_size": (3, 224, 224), "pool_size": None, "crop_pct": 0.875,
            "interpolation": "bicubic", "mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD,
            "classifier": "head", "license": "apache-2.0", **kwargs}


default_cfgs = generate_default_cfgs({
    "deit_tiny_irmb": _cfg(first_conv="patch_embed.proj"),
    "deit_tiny_i2rmb": _cfg(first_conv="patch_embed.proj"),
    "pvt_tiny": _cfg(first_conv="patch_embeds.0.proj"),
    "pvt_tiny_irmb": _cfg(first_conv="patch_embeds.0.proj"),
    "pvt_tiny_i2rmb": _cfg(first_conv="patch_embeds.0.proj"),
})


def _no_pretrained(name: str, pretrained: bool, kwargs: dict) -> None:
    if pretrained:
        raise ValueError(f"{name}: no pretrained weights exist; create it with pretrained=False")
    for k in ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir"):
        kwargs.pop(k, None)


def _deit(name: str, block: str, pretrained: bool, kwargs: dict):
    _no_pretrained(name, pretrained, kwargs)
    window_size = kwargs.pop("window_size", 7)
    model = timm.create_model("deit_tiny_patch16_224", pretrained=False, **kwargs)
    model = swap_blocks(model, block, window_size)
    model.pretrained_cfg = model.default_cfg = default_cfgs[name].default.to_dict()
    return model


def _pvt(name: str, block: str | None, pretrained: bool, kwargs: dict) -> PyramidVisionTransformer:
    _no_pretrained(name, pretrained, kwargs)
    model = build_model_with_cfg(PyramidVisionTransformer, name, False, feature_cfg=None, **kwargs)
    return swap_blocks(model, block) if block else model


@register_model
def deit_tiny_irmb(pretrained: bool = False, **kwargs):
    """DeiT-Tiny whose 12 blocks are iRMBs (192 wide, λ 4, 3x3 depthwise, remote 7x7 windows), no class token."""
    return _deit("deit_tiny_irmb", "irmb", pretrained, kwargs)


@register_model
def deit_tiny_i2rmb(pretrained: bool = False, **kwargs):
    """DeiT-Tiny whose 12 blocks are i2RMBs (192 wide, λ 4, 5x5 depthwise, spanning 7x7 windows), no class token."""
    return _deit("deit_tiny_i2rmb", "i2rmb", pretrained, kwargs)


@register_model
def pvt_tiny(pretrained: bool = False, **kwargs) -> PyramidVisionTransformer:
    """PVT v1 Tiny (13,229,288 parameters at 224 px)."""
    return _pvt("pvt_tiny", None, pretrained, kwargs)


@register_model
def pvt_tiny_irmb(pretrained: bool = False, **kwargs) -> PyramidVisionTransformer:
    """PVT-Tiny with iRMBs (λ = MLP ratio, spatial-reduction attention, 3x3 depthwise), no class token."""
    return _pvt("pvt_tiny_irmb", "irmb", pretrained, kwargs)


@register_model
def pvt_tiny_i2rmb(pretrained: bool = False, **kwargs) -> PyramidVisionTransformer:
    """PVT-Tiny with i2RMBs (λ = MLP ratio, spatial-reduction attention, 5x5 depthwise), no class token."""
    return _pvt("pvt_tiny_i2rmb", "i2rmb", pretrained, kwargs)
