"""What the benchmark measures: EMOv2 variants, timm peers (random init) and external ``module:factory`` models.

A name may end in ``+fused`` to measure the reparameterized (BN-folded) model next to the plain one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import torch
from torch import nn

from ..models import VARIANTS, create_model, reparameterize
from .peers import published_top1

__all__ = ["ModelSpec", "OutputAdapter", "build_model", "fuse", "parse_extra_model", "parse_models"]


@dataclass(frozen=True)
class ModelSpec:
    label: str  # the name shown in tables
    name: str  # EMOv2 variant, timm name, or "module:factory" for external models
    fused: bool = False
    top1: float | None = None
    external: bool = False


class OutputAdapter(nn.Module):
    """Wraps a model whose forward returns a dict or tuple (e.g. the official EMOv2's ``{'out': logits}``)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        if isinstance(out, dict):
            out = out["out"] if "out" in out else next(iter(out.values()))
        elif isinstance(out, (tuple, list)):
            out = out[0]
        return out


def parse_models(text: str, fused: bool = False) -> list[ModelSpec]:
    """``"emov2_1m,emov2_5m+fused,edgenext_small"`` -> specs; ``fused`` fuses every model."""
    specs = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        name, plus_fused = (item[: -len("+fused")], True) if item.endswith("+fused") else (item, False)
        is_fused = fused or plus_fused
        label = f"{name}+fused" if is_fused else name
        specs.append(ModelSpec(label=label, name=name, fused=is_fused, top1=published_top1(name)))
    if not specs:
        raise ValueError("no models given")
    return specs


def parse_extra_model(text: str) -> ModelSpec:
    """``LABEL=MODULE:FACTORY[@TOP1]``, e.g. ``official_5m=mypkg.models:build_5m@79.4``.

    FACTORY may be a dotted attribute path inside the module; it is called with no arguments.
    """
    label, sep, rest = text.partition("=")
    if not sep or ":" not in rest:
        raise ValueError(f"--extra-model expects LABEL=MODULE:FACTORY[@TOP1], got {text!r}")
    target, _, top1 = rest.partition("@")
    try:
        top1_value = float(top1) if top1 else None
    except ValueError:
        raise ValueError(f"--extra-model: top-1 after '@' must be a number, got {top1!r}") from None
    return ModelSpec(label=label.strip(), name=target.strip(), top1=top1_value, external=True)


def _import_factory(target: str):
    module_name, _, attr_path = target.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"cannot import {module_name!r} for external model {target!r}: {e}") from None
    for attr in attr_path.split("."):
        if not hasattr(obj, attr):
            raise ValueError(f"{target!r}: {type(obj).__name__} {getattr(obj, '__name__', '')!r} has no {attr!r}")
        obj = getattr(obj, attr)
    return obj


def fuse(model: nn.Module) -> nn.Module:
    """Reparameterize for inference (EMOv2 blocks and any timm module with ``reparameterize()``)."""
    return reparameterize(model)


def build_model(spec: ModelSpec, num_classes: int = 1000, perturb: bool = False) -> nn.Module:
    """Random-init model in eval mode (fused if the spec asks); ``perturb``: with :func:`emov2.export.perturb_`
    weights (random layer scales and norm statistics, set before fusing), so that every layer moves the output."""

    if spec.external:
        model = OutputAdapter(_import_factory(spec.name)())
    elif spec.name in VARIANTS:
        model = create_model(spec.name, num_classes=num_classes)
    else:
        import timm

        if not timm.is_model(spec.name):
            raise ValueError(f"unknown model {spec.name!r}: not an EMOv2 variant and not a timm model")
        model = timm.create_model(spec.name, pretrained=False, num_classes=num_classes)
    model.eval()
    if perturb:
        from ..export.perturb import perturb_

        perturb_(model)
    if spec.fused:
        model = fuse(model).eval()
    return model
