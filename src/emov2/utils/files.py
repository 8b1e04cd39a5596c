"""File helpers with no package dependencies: atomic writes, weights-only loading, the checkpoint error type.

Every other module (models, engine, tasks, CLI) imports these from here, so this module imports nothing of the
package and the import graph stays a DAG.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

__all__ = ["CheckpointError", "atomic_write", "load_weights_only"]


class CheckpointError(ValueError):
    """A checkpoint or artifact that cannot be read or does not fit the model."""


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then rename it over ``path`` (a crash or kill
    leaves the previous file intact and no half-written one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_weights_only(path: str | os.PathLike, what: str = "checkpoint") -> object:
    """``torch.load(path, weights_only=True)``: tensors, numbers, strings and containers only; anything else
    (a pickled class or function) raises :class:`CheckpointError` with a one-line reason."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # unpickling errors come in many types
        text = str(e).strip()
        first = text.splitlines()[0] if text else type(e).__name__
        raise CheckpointError(f"{path}: refused: not a weights-only {what} ({first})") from None
