"""The resumable training state ``last.pt``: written atomically, read only with ``weights_only=True``.

It holds tensors, numbers, strings and containers only (model, EMA, optimizer, scheduler, grad scaler, step,
epoch, the position in the epoch's data order, the best metric so far, every rank's RNG states and the
task's own small state), so loading it can never run code.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from ..utils.files import CheckpointError, atomic_write, load_weights_only

__all__ = ["STATE_FORMAT", "get_rng_state", "load_state", "save_state", "set_rng_state"]

STATE_FORMAT = "emov2-state-1"


def get_rng_state() -> dict:
    """Python, NumPy and torch (and CUDA) RNG states as tensors and plain values."""
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


def save_state(state: dict, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file next to ``path``, then rename: a kill never leaves half a file."""
    atomic_write(path, lambda tmp: torch.save({"format": STATE_FORMAT, **state}, tmp))


def load_state(path: str | os.PathLike) -> dict:
    """A ``last.pt`` written by :func:`save_state` (weights-only unpickling; anything else is refused)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {path}")
    state = load_weights_only(path, "training state")
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path}: not a training state written by emov2 (format {STATE_FORMAT})")
    return state
