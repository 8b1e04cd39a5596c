"""A trained video model back from its artifact, its eval transform, and top-k prediction of video files."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from ..data.video.decode import open_video
from ..data.video.sampling import uniform_sample
from ..data.video.transforms import build_video_eval_transform
from ..models.video import create_video_model
from ..utils.files import CheckpointError

__all__ = ["VideoPrediction", "eval_transform_for", "predict_video", "video_model_from_info"]


def video_model_from_info(info: dict) -> nn.Module:
    """An untrained video model with the architecture an artifact's sidecar describes."""
    name = info.get("arch")
    if not name:
        raise CheckpointError("the sidecar names no architecture ('arch')")
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in (info.get("model_kwargs") or {}).items()}
    kwargs.setdefault("num_classes", len(info.get("classes") or []) or 400)
    return create_video_model(name, num_frames=int(info.get("num_frames", 4)), img_size=int(info.get("img_size", 160)),
                              **kwargs)


def eval_transform_for(info: dict, crops: int = 1):
    """The run's evaluation transform: short side -> centre crop (``crops=3``: ThreeCrop), its normalisation."""
    size = int(info.get("img_size", 160))
    return build_video_eval_transform(size, int(info.get("val_short_side") or size), crops=crops,
                                      mean=tuple(info.get("mean", (114.75,) * 3)),
                                      std=tuple(info.get("std", (57.375,) * 3)))


@dataclass
class VideoPrediction:
    path: str
    frame_indices: list[int]
    clip: torch.Tensor  # the model's input (C, T, H, W), normalised
    probs: torch.Tensor  # (K,)


@torch.no_grad()
def predict_video(model: nn.Module, info: dict, path: str | os.PathLike, backend: str = "auto") -> VideoPrediction:
    """Class probabilities of one video: the evaluation clip (UniformSample's segment middles, centre crop)."""
    with open_video(path, backend) as v:
        inds = uniform_sample(v.info.num_frames, int(info.get("num_frames", 4)), train=False)
        frames = v.frames(inds.tolist())
    clip = eval_transform_for(info)(frames)
    probs = model(clip[None]).float().softmax(-1)[0]
    return VideoPrediction(str(path), inds.tolist(), clip, probs)
