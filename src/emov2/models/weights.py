"""Reading, checking and writing weights: our safetensors files and official ``.pth`` checkpoints.

Nothing is unpickled beyond tensors and plain containers (``torch.load(weights_only=True)``); writes are
atomic (temporary file + rename).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from ..utils.files import CheckpointError, atomic_write, load_weights_only
from .official import from_official, is_official

__all__ = [
    "CheckpointError",
    "load_state_dict",
    "load_weights",
    "match_report",
    "read_metadata",
    "save_safetensors",
]


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """Metadata of a safetensors file (empty for other formats)."""
    if not str(path).endswith(".safetensors"):
        return {}
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def load_state_dict(path: str | os.PathLike, ema: bool = False) -> dict[str, torch.Tensor]:
    """State dict in this package's key layout from a safetensors file, an official checkpoint
    (``{'net': ..., 'net_E': ...}``; ``ema`` picks ``net_E``), a trainer checkpoint (``model`` / ``model_ema``),
    or a bare state dict in either layout."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        try:
            sd = load_file(str(path))
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None
    else:
        obj = load_weights_only(path)
        sd = _pick_state_dict(obj, path, ema)
    return from_official(sd) if is_official(sd) else {k.removeprefix("module."): v for k, v in sd.items()}


def _pick_state_dict(obj, path: Path, ema: bool) -> dict[str, torch.Tensor]:
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a dict of tensors, got {type(obj).__name__}")
    wanted = ("net_E", "model_ema", "state_dict_ema") if ema else ("net", "model", "state_dict")
    for key in wanted:
        if key in obj and isinstance(obj[key], dict):
            return obj[key]
    if ema:
        raise CheckpointError(f"{path}: no EMA weights (looked for {', '.join(wanted)}); top-level keys: "
                              f"{', '.join(list(obj)[:8])}")
    if all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    raise CheckpointError(f"{path}: no state dict found (looked for {', '.join(wanted)}); top-level keys: "
                          f"{', '.join(list(obj)[:8])}")


def match_report(expected: dict[str, torch.Size], sd: dict[str, torch.Tensor], limit: int = 4) -> str:
    """'' when ``sd`` has exactly the expected keys and shapes, else a one-line description of the mismatch."""
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    shapes = [
        f"{k}: checkpoint {list(sd[k].shape)} vs model {list(expected[k])}"
        for k in expected
        if k in sd and tuple(sd[k].shape) != tuple(expected[k])
    ]
    parts = []
    for label, items in (("with other shapes", shapes), ("missing", missing), ("unexpected", unexpected)):
        if items:
            more = f", +{len(items) - limit} more" if len(items) > limit else ""
            parts.append(f"{len(items)} {label} ({'; '.join(items[:limit])}{more})")
    return ", ".join(parts)


def load_weights(
    model: nn.Module, sd: dict[str, torch.Tensor], *, name: str = "model", source: str = "checkpoint",
    drop_head: bool = False, guess_variant=None,
) -> None:
    """Strictly load ``sd`` into ``model``; a mismatch raises :class:`CheckpointError` naming the keys.

    With ``drop_head`` a classifier of another size is skipped (the model keeps its fresh head).
    ``guess_variant(sd)`` may name the variant the checkpoint belongs to, for the error message.
    """
    target = model.state_dict()
    expected = {k: v.shape for k, v in target.items()}
    sd = dict(sd)
    if drop_head:  # keep the model's own (fresh) classifier where the checkpoint's does not fit
        for k in ("head.weight", "head.bias"):
            if k not in target:
                sd.pop(k, None)
            elif k not in sd or sd[k].shape != target[k].shape:
                sd[k] = target[k]
    problem = match_report(expected, sd)
    if problem:
        hint = ""
        head = sd.get("head.weight")
        if head is not None and "head.weight" in expected and head.shape != expected["head.weight"] and \
                not match_report({k: v for k, v in expected.items() if not k.startswith("head.")},
                                 {k: v for k, v in sd.items() if not k.startswith("head.")}):
            hint = (f"; the checkpoint has {head.shape[0]} classes and the model {expected['head.weight'][0]}: "
                    f"pass num_classes={head.shape[0]}, or drop_head=True to start a new classifier")
        elif guess_variant is not None and (guess := guess_variant(sd)) and guess != name:
            hint = f"; the checkpoint looks like {guess}"
        raise CheckpointError(f"{source} does not fit {name}: {problem}{hint}")
    model.load_state_dict(sd, strict=True)


def save_safetensors(
    sd: dict[str, torch.Tensor], path: str | os.PathLike, metadata: dict[str, str] | None = None
) -> None:
    """Write ``sd`` as safetensors atomically (temporary file in the same folder, then rename)."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in sd.items()}
    meta = {k: str(v) for k, v in (metadata or {}).items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))
