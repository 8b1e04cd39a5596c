"""Key mapping between the official EMOv2 checkpoints (``model/lib_emo/emo2.py``) and this package.

Official layout                              This package
  stage0.{0,1}.conv / .norm                    stem.conv{1,2}.conv / .bn
  stage0.2.conv.weight                         stem.conv3.weight
  stage{i}.{j}.norm[.norm]                     stages.{i-1}.blocks.{j}.norm          (LN wrapped in .norm)
  stage{i}.{j}.eops.0.net.conv                 stages.{i-1}.blocks.{j}.op.conv        (1x1 conv operator)
  stage{i}.{j}.eops.0.{qk,v}.conv              stages.{i-1}.blocks.{j}.op.{qk,v}      (attention)
  stage{i}.{j}.conv_local.{conv,norm}          stages.{i-1}.blocks.{j}.dw.{conv,bn}
  stage{i}.{j}.proj.conv.weight                stages.{i-1}.blocks.{j}.proj.weight
  stage{i}.{j}.ls.gamma  (1, C, 1, 1)          stages.{i-1}.blocks.{j}.layer_scale.gamma  (C,)
  norm.norm, head                              norm, head
"""

from __future__ import annotations

import re

import torch

__all__ = ["from_official", "is_official", "to_official"]

_STEM = [
    ("stage0.0.conv.", "stem.conv1.conv."),
    ("stage0.0.norm.", "stem.conv1.bn."),
    ("stage0.1.conv.", "stem.conv2.conv."),
    ("stage0.1.norm.", "stem.conv2.bn."),
    ("stage0.2.conv.", "stem.conv3."),
]
_BLOCK = [
    ("norm.norm.", "norm."),
    ("eops.0.net.conv.", "op.conv."),
    ("eops.0.qk.conv.", "op.qk."),
    ("eops.0.v.conv.", "op.v."),
    ("conv_local.conv.", "dw.conv."),
    ("conv_local.norm.", "dw.bn."),
    ("proj.conv.", "proj."),
    ("ls.gamma", "layer_scale.gamma"),
    ("norm.", "norm."),
]
_OFFICIAL_BLOCK = re.compile(r"^stage([1-9])\.(\d+)\.(.*)$")
_OUR_BLOCK = re.compile(r"^stages\.(\d+)\.blocks\.(\d+)\.(.*)$")


def is_official(state_dict: dict[str, torch.Tensor]) -> bool:
    """Whether the keys are the official layout (``stage0.*``), with or without a DDP ``module.`` prefix."""
    return any(k.removeprefix("module.").startswith("stage0.") for k in state_dict)


def _swap(name: str, table: list[tuple[str, str]], reverse: bool) -> str | None:
    for official, ours in table:
        src, dst = (ours, official) if reverse else (official, ours)
        if name.startswith(src):
            return dst + name[len(src):]
    return None


def from_official(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename (and reshape layer scales of) an official state dict into this package's layout."""
    out = {}
    for key, value in state_dict.items():
        key = key.removeprefix("module.")
        if key.startswith("stage0."):
            new = _swap(key, _STEM, reverse=False)
        elif m := _OFFICIAL_BLOCK.match(key):
            rest = _swap(m.group(3), _BLOCK, reverse=False)
            new = None if rest is None else f"stages.{int(m.group(1)) - 1}.blocks.{m.group(2)}.{rest}"
        elif key.startswith("norm.norm."):
            new = key[len("norm."):]
        else:
            new = key  # head.*, and anything unknown is reported by the strict load
        if new is None:
            new = key
        if new.endswith("layer_scale.gamma"):
            value = value.reshape(-1)
        out[new] = value
    return out


def to_official(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`from_official` (LayerNorm vs BatchNorm is told by the presence of running stats)."""
    bn_norms = {k[: -len("running_mean")] for k in state_dict if k.endswith("norm.running_mean")}
    out = {}
    for key, value in state_dict.items():
        if key.startswith("stem."):
            new = _swap(key, _STEM, reverse=True) or key
        elif m := _OUR_BLOCK.match(key):
            prefix, rest = f"stages.{m.group(1)}.blocks.{m.group(2)}.", m.group(3)
            if rest.startswith("norm."):
                new_rest = rest if prefix + "norm." in bn_norms else "norm." + rest
            else:
                new_rest = _swap(rest, _BLOCK[:-2], reverse=True) or rest
                if rest == "layer_scale.gamma":
                    new_rest = "ls.gamma"
                    value = value.reshape(1, -1, 1, 1)
            new = f"stage{int(m.group(1)) + 1}.{m.group(2)}.{new_rest}"
        elif key.startswith("norm."):
            new = "norm." + key
        else:
            new = key
        out[new] = value
    return out
