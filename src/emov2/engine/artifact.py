"""The one artifact format: weights as safetensors plus a JSON sidecar that says how to rebuild the model.

``NAME.safetensors`` + ``NAME.json``. The sidecar holds ``format``, ``task`` (cls, det, seg, gen, video),
``arch``/``variant``, the keyword arguments that rebuild the model, classes, normalisation, image and window
size, the metrics of the kept weights and the command that made them. Task packages turn an artifact back into
a model (``emov2.artifacts.load_artifact``); this module only reads and writes the two files.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..utils.files import CheckpointError, atomic_write, load_weights_only
from .state import STATE_FORMAT

__all__ = ["ARTIFACT_FORMAT", "command_line", "read_artifact", "read_info", "sidecar_path", "write_artifact"]

ARTIFACT_FORMAT = "emov2-artifact-1"


def command_line() -> str:
    """The command that is running, as a user would type it (``emov2 train ...``)."""
    argv = list(sys.argv)
    if argv and (argv[0].endswith(("emov2", "__main__.py", "main.py")) or argv[0] == "-m"):
        argv[0] = "emov2"
    return shlex.join(argv)


def sidecar_path(path: str | os.PathLike) -> Path:
    return Path(path).with_suffix(".json")


def write_artifact(state_dict: dict[str, torch.Tensor], path: str | os.PathLike, info: dict) -> Path:
    """Write ``path`` (.safetensors) and its sidecar atomically; returns the weights' path."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"an artifact is a .safetensors file, got {path}")
    tensors = {k: v.detach().contiguous().cpu() for k, v in state_dict.items()}
    meta = {"format": ARTIFACT_FORMAT, "task": str(info.get("task", "")), "arch": str(info.get("arch", ""))}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta))
    full = {"format": ARTIFACT_FORMAT, **info}
    text = json.dumps(full, indent=1, default=str) + "\n"
    atomic_write(sidecar_path(path), lambda tmp: Path(tmp).write_text(text))
    return path


def read_info(path: str | os.PathLike) -> dict:
    """The sidecar of an artifact (or the ``info`` a ``last.pt`` training state carries)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        side = sidecar_path(path)
        if not side.is_file():
            raise CheckpointError(f"{path}: its sidecar {side.name} is missing (an artifact is NAME.safetensors "
                                  "+ NAME.json, as written by the emov2 training commands)")
        try:
            info = json.loads(side.read_text())
        except json.JSONDecodeError as e:
            raise CheckpointError(f"{side}: not valid JSON ({e})") from None
        if not isinstance(info, dict) or "task" not in info:
            raise CheckpointError(f"{side}: not an emov2 sidecar (no 'task' field)")
        return info
    state = _read_state(path)
    return dict(state["info"])


def read_artifact(path: str | os.PathLike, ema: bool | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """(state dict, sidecar info) of ``NAME.safetensors``, or of a ``last.pt`` (its EMA weights when it has them,
    unless ``ema=False``). Pickled objects are refused with a one-line :class:`CheckpointError`."""
    path = Path(path)
    info = read_info(path)
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path)), info
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None
    state = _read_state(path)
    use_ema = state.get("ema") is not None if ema is None else ema
    if use_ema and state.get("ema") is None:
        raise CheckpointError(f"{path}: this run kept no EMA weights")
    return dict(state["ema"] if use_ema else state["model"]), {**info, "weights": "ema" if use_ema else "model"}


def _read_state(path: Path) -> dict:
    state = load_weights_only(path, "checkpoint")
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or "info" not in state:
        raise CheckpointError(f"{path}: not an emov2 artifact (expected NAME.safetensors + NAME.json, or a last.pt "
                              "written by an emov2 training command)")
    return state
