"""Atomic checkpoint files: write to a temporary file in the same folder, then rename."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .files import atomic_write, load_weights_only

__all__ = ["atomic_write", "load_checkpoint", "save_checkpoint"]


def save_checkpoint(obj: dict, path: str | os.PathLike) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically."""
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def load_checkpoint(path: str | os.PathLike) -> dict:
    """A checkpoint written by :func:`save_checkpoint` (tensors, numbers, strings and dicts only)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return load_weights_only(path)
