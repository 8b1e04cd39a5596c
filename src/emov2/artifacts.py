"""``load_artifact``: one loader for the trained models of every task (eval, predict, export, bench, sampling).

An artifact is ``NAME.safetensors`` + ``NAME.json`` (or a ``last.pt`` training state) written by the engine; the
sidecar's ``task`` says which package rebuilds the model. Nothing is unpickled beyond tensors and plain
containers: a pickled object is refused with a one-line :class:`~emov2.utils.files.CheckpointError`.
"""

from __future__ import annotations

import os

from torch import nn

from .engine.artifact import read_artifact
from .utils.files import CheckpointError

__all__ = ["TASKS", "load_artifact"]


def _cls(info: dict) -> nn.Module:
    from .classification.inference import classifier_from_info

    return classifier_from_info(info)


def _det(info: dict) -> nn.Module:
    from .detection.task import detector_from_info

    return detector_from_info(info)


def _seg(info: dict) -> nn.Module:
    from .segmentation.task import segmenter_from_info

    return segmenter_from_info(info)


def _gen(info: dict) -> nn.Module:
    from .generation.registry import generator_from_info

    return generator_from_info(info)


def _video(info: dict) -> nn.Module:
    from .video.inference import video_model_from_info

    return video_model_from_info(info)


TASKS = {"cls": _cls, "det": _det, "seg": _seg, "gen": _gen, "video": _video}


def load_artifact(path: str | os.PathLike, task: str | None = None, ema: bool | None = None,
                  device: str = "cpu") -> tuple[nn.Module, dict]:
    """(model in eval mode on ``device``, sidecar info) of an artifact of any task (or of ``task`` only)."""
    sd, info = read_artifact(path, ema=ema)
    kind = info.get("task")
    if task is not None and kind != task:
        raise CheckpointError(f"{path} is a {kind!r} artifact, not {task!r}")
    if kind not in TASKS:
        raise CheckpointError(f"{path}: unknown task {kind!r} in its sidecar; known: {', '.join(TASKS)}")
    model = TASKS[kind](info)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{path} does not fit the {info.get('arch')} it describes: {len(missing)} missing "
                              f"({', '.join(missing[:3])}), {len(unexpected)} unexpected ({', '.join(unexpected[:3])})")
    return model.to(device).eval(), info
