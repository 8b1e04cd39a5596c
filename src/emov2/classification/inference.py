"""A trained classifier back from its artifact, its eval transform, and top-k prediction."""

from __future__ import annotations

import os

import timm
import torch
from torch import nn

from ..data.transforms import build_eval_transform
from ..engine.artifact import read_artifact
from ..models import VARIANTS
from ..models.weights import load_weights
from ..utils.files import CheckpointError

__all__ = ["classifier_from_info", "eval_transform_for", "load_classifier", "predict_topk"]


def classifier_from_info(info: dict) -> nn.Module:
    """An untrained classifier with the architecture an artifact's sidecar describes."""
    name = info.get("arch") or info.get("variant")
    if not name:
        raise CheckpointError("the sidecar names no architecture ('arch')")
    kwargs = dict(info.get("model_kwargs") or {})
    kwargs.setdefault("num_classes", len(info.get("classes") or []) or 1000)
    if name not in VARIANTS:
        if not timm.is_model(name):
            raise CheckpointError(f"the sidecar names {name!r}: not an EMOv2 variant and not a timm model")
    return timm.create_model(name, **{k: v for k, v in kwargs.items() if v is not None})


def load_classifier(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """(model in eval mode, sidecar info) of a classification artifact (``best.safetensors`` + ``best.json``)."""
    sd, info = read_artifact(path)
    if info.get("task") != "cls":
        raise CheckpointError(f"{path} is a {info.get('task')!r} artifact, not a classifier (task 'cls')")
    model = classifier_from_info(info)
    load_weights(model, sd, name=info.get("arch", "model"), source=str(path))
    classes = info.get("classes") or [str(i) for i in range(model.get_classifier().out_features)]
    info["classes"] = list(classes)
    return model.eval(), info


def eval_transform_for(info: dict):
    """The paper's eval transform (resize to size / crop_pct, bicubic, centre crop) with the run's normalisation;
    runs trained on small grey tensors (Fashion-MNIST) use a plain resize, as in training."""
    size = int(info.get("img_size", 224))
    mean = info.get("mean", (0.485, 0.456, 0.406))
    std = info.get("std", (0.229, 0.224, 0.225))
    if info.get("resize_only"):
        return build_eval_transform(size, crop_pct=1.0, interpolation="bilinear", mean=mean, std=std)
    return build_eval_transform(size, crop_pct=float(info.get("crop_pct", 0.875)),
                                interpolation=info.get("interpolation", "bicubic"), mean=mean, std=std)


@torch.no_grad()
def predict_topk(model: nn.Module, x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities and class indices of the top ``k``: x (B, 3, H, W) -> (B, k), (B, k)."""
    probs = model(x).float().softmax(dim=-1)
    return probs.topk(min(k, probs.shape[-1]), dim=-1)
