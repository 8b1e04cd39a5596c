"""Loading a trained classifier (``best.safetensors`` + ``best.json``) and its eval transform."""

from __future__ import annotations

import os

import timm
import torch
from torch import nn

from ..data.transforms import build_eval_transform
from ..models import VARIANTS, create_model
from ..models.weights import load_state_dict, load_weights
from .checkpoint import read_sidecar

__all__ = ["eval_transform_for", "load_classifier"]


def load_classifier(path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """(model in eval mode, sidecar info) of a checkpoint written by ``emov2 train``."""
    info = read_sidecar(path)
    name = info["variant"]
    if name in VARIANTS:
        model = create_model(name, checkpoint=path, window_size=info.get("window_size"))
    else:
        sd = load_state_dict(path)
        model = timm.create_model(name, num_classes=info.get("num_classes", len(info.get("classes", [])) or 1000))
        load_weights(model, sd, name=name, source=str(path))
    classes = info.get("classes")
    n_out = model.get_classifier().weight.shape[0]
    if classes is not None and len(classes) != n_out:
        raise ValueError(f"{path}: the sidecar lists {len(classes)} classes but the weights predict {n_out}")
    if classes is None:
        info["classes"] = [str(i) for i in range(n_out)]
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
