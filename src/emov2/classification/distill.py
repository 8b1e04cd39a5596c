"""Knowledge distillation (paper §3.1, ``*_kd``): loss = label-smoothing CE + weight * tau^2 * KL(teacher, student).

The teacher is any timm model name (random init unless ``teacher_checkpoint`` is given: nothing is
downloaded) or a ``.safetensors`` checkpoint written by ``emov2 train``. It sees the student's augmented batch
re-normalised to its own mean/std and resized to its own input size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import timm
import torch
import torch.nn.functional as F
from torch import nn

from ..models.weights import load_state_dict
from .inference import load_classifier

__all__ = ["Teacher", "build_teacher", "kd_loss"]


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """KL(teacher || student) on softened distributions, summed over classes, mean over the batch, x tau^2."""
    s = F.log_softmax(student_logits.float() / tau, dim=-1)
    t = F.log_softmax(teacher_logits.float() / tau, dim=-1)
    return F.kl_div(s, t, reduction="sum", log_target=True) / student_logits.shape[0] * tau * tau


class Teacher(nn.Module):
    """A frozen classifier in eval mode that maps the student's normalised batch (B, 3, H, W) to logits.

    Args:
        model: the teacher network.
        student_mean, student_std: the student's normalisation (undone before the teacher's is applied).
        mean, std: the teacher's normalisation.
        img_size: the teacher's input size (None: the student's).
    """

    def __init__(self, model: nn.Module, student_mean: Sequence[float], student_std: Sequence[float],
                 mean: Sequence[float], std: Sequence[float], img_size: int | None = None) -> None:
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        self.img_size = img_size
        scale = torch.tensor(student_std) / torch.tensor(std)
        shift = (torch.tensor(student_mean) - torch.tensor(mean)) / torch.tensor(std)
        self.register_buffer("scale", scale.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("shift", shift.view(1, -1, 1, 1), persistent=False)
        self.eval()

    def train(self, mode: bool = True) -> Teacher:  # the teacher always stays in eval mode
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.scale + self.shift
        if self.img_size and x.shape[-1] != self.img_size:
            x = F.interpolate(x, size=(self.img_size, self.img_size), mode="bicubic", align_corners=False)
        return self.model(x)


def build_teacher(name: str, num_classes: int, *, checkpoint: str | None = None, img_size: int | None = None,
                  student_mean: Sequence[float], student_std: Sequence[float]) -> Teacher:
    """A teacher from a timm model name (optionally with weights from ``checkpoint``) or a ``.safetensors``
    written by ``emov2 train``."""
    if Path(name).suffix == ".safetensors" or Path(name).is_file():
        model, info = load_classifier(name)
        mean, std = info.get("mean", student_mean), info.get("std", student_std)
        img_size = img_size or info.get("img_size")
    else:
        if name not in timm.list_models():
            raise ValueError(f"unknown teacher {name!r}: give a timm model name or a .safetensors checkpoint")
        model = timm.create_model(name, num_classes=num_classes)
        if checkpoint:
            model.load_state_dict(load_state_dict(checkpoint), strict=True)
        mean, std = model.pretrained_cfg.get("mean", student_mean), model.pretrained_cfg.get("std", student_std)
    out = model.get_classifier().out_features if hasattr(model.get_classifier(), "out_features") else num_classes
    if out != num_classes:
        raise ValueError(f"teacher {name} predicts {out} classes, the student {num_classes}")
    return Teacher(model, student_mean, student_std, mean, std, img_size)
