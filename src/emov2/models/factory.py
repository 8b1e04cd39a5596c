"""``create_model`` / ``list_models``: the package's front door (timm's ``create_model`` works too)."""

from __future__ import annotations

import fnmatch
import os

import timm
import torch

from .emov2 import EMOv2  # importing it registers the variants with timm
from .variants import TEST_VARIANTS, VARIANTS
from .weights import CheckpointError, load_state_dict, load_weights, match_report, read_metadata

__all__ = ["create_model", "guess_variant", "list_models"]


def list_models(pattern: str = "*") -> list[str]:
    """The paper's EMOv2 variants matching a wildcard pattern (timm also lists the tiny ``test_emov2``)."""
    return [name for name in VARIANTS if fnmatch.fnmatch(name, pattern)]


def _check_name(name: str) -> None:
    if name not in VARIANTS and name not in TEST_VARIANTS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(VARIANTS)} (and test_emov2)")


def _expected_shapes(name: str, num_classes: int = 1000) -> dict[str, torch.Size]:
    with torch.device("meta"):
        model = EMOv2(**VARIANTS[name].model_kwargs(), num_classes=num_classes)
    return {k: v.shape for k, v in model.state_dict().items()}


def guess_variant(sd: dict[str, torch.Tensor]) -> str | None:
    """The variant whose backbone keys and shapes equal the state dict's (the head size is ignored)."""
    body = {k: v for k, v in sd.items() if not k.startswith("head.")}
    for name in VARIANTS:
        expected = {k: s for k, s in _expected_shapes(name).items() if not k.startswith("head.")}
        if not match_report(expected, body):
            return name
    return None


def create_model(
    name: str,
    pretrained: bool = False,
    checkpoint: str | os.PathLike | None = None,
    *,
    ema: bool = False,
    drop_head: bool = False,
    **kwargs,
) -> EMOv2:
    """Build an EMOv2 variant, optionally with weights from a local checkpoint.

    Args:
        name: one of :func:`list_models` (``emov2_1m`` ... ``emov2_50m``).
        pretrained: weights are never downloaded; give ``checkpoint`` instead.
        checkpoint: our ``.safetensors`` or an official ``.pth`` (``net``/``net_E`` dict or bare state dict).
        ema: take the EMA weights (``net_E``) of an official or trainer checkpoint.
        drop_head: allow a ``num_classes`` different from the checkpoint's (the classifier starts fresh).
        **kwargs: model options (``num_classes``, ``window_size``, ``attention``, ``drop_path_rate``,
            ``in_chans``, ...); ``None`` values are ignored as in timm.
    """
    _check_name(name)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if pretrained and checkpoint is None:
        raise ValueError(
            "pretrained=True: this package never downloads weights; pass checkpoint=PATH to an official EMOv2 "
            ".pth or a .safetensors file written by `emov2 convert`"
        )
    if checkpoint is None:
        return timm.create_model(name, **kwargs)
    sd = load_state_dict(checkpoint, ema=ema)
    meta = read_metadata(checkpoint)
    if meta.get("variant") and meta["variant"] != name:
        raise CheckpointError(f"{checkpoint} holds {meta['variant']} weights, not {name}")
    head = sd.get("head.weight")
    if "num_classes" not in kwargs and head is not None:
        kwargs["num_classes"] = head.shape[0]
    model = timm.create_model(name, **kwargs)
    load_weights(model, sd, name=name, source=str(checkpoint), drop_head=drop_head, guess_variant=guess_variant)
    return model
