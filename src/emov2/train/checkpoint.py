"""Trainer checkpoints.

* ``OUT/last.pt``: everything needed to continue (model, optimiser, scheduler, EMA, grad scaler, epoch, RNG
  states), written atomically each epoch and holding only tensors and plain containers so that it loads with
  ``torch.load(weights_only=True)``.
* ``OUT/best.safetensors`` + ``OUT/best.json``: the best weights and what is needed to use them (variant,
  classes, image size, normalisation, metrics). ``emov2 eval`` / ``emov2 predict`` read the pair.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import torch

from ..models.weights import CheckpointError, read_metadata, save_safetensors
from ..utils.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["get_rng_state", "load_last", "read_sidecar", "save_best", "save_last", "set_rng_state"]


def get_rng_state() -> dict:
    """Python, NumPy, torch (and CUDA) RNG states as tensors / plain values."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_last(state: dict, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file next to ``path``, then rename (a kill never leaves half a file)."""
    save_checkpoint(state, path)


def load_last(path: str | os.PathLike) -> dict:
    """A ``last.pt`` written by :func:`save_last` (weights-only unpickling)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {path}")
    return load_checkpoint(path)


def save_best(state_dict: dict[str, torch.Tensor], path: str | os.PathLike, info: dict) -> None:
    """Weights as safetensors (metadata: variant, classes) plus a JSON sidecar ``path.with_suffix('.json')``."""
    path = Path(path)
    meta = {"variant": info["variant"], "classes": json.dumps(info["classes"]), "img_size": info["img_size"]}
    save_safetensors(state_dict, path, meta)
    side = path.with_suffix(".json")
    tmp = side.with_name(f".{side.name}.tmp")
    tmp.write_text(json.dumps(info, indent=1))
    os.replace(tmp, side)


def has_sidecar(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a ``.safetensors`` checkpoint with the JSON sidecar :func:`save_best` writes."""
    path = Path(path)
    return path.suffix == ".safetensors" and path.with_suffix(".json").is_file()


def read_sidecar(path: str | os.PathLike) -> dict:
    """The JSON sidecar of a ``.safetensors`` checkpoint (or what its metadata holds when the sidecar is gone)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    side = path.with_suffix(".json")
    if side.is_file():
        try:
            return json.loads(side.read_text())
        except json.JSONDecodeError as e:
            raise CheckpointError(f"{side}: not valid JSON ({e})") from None
    meta = read_metadata(path)
    if "variant" not in meta:
        raise CheckpointError(f"{path}: no sidecar {side.name} and no variant in its metadata; "
                              "use a checkpoint written by `emov2 train`")
    info = {"variant": meta["variant"], "img_size": int(meta.get("img_size", 224))}
    if "classes" in meta:
        info["classes"] = json.loads(meta["classes"])
    return info
