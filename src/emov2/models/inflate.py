"""2-D -> 3-D weights: I3D mean inflation of an EMOv2 state dict into V-EMOv2, and the key layouts video
checkpoints come in.

Inflation (Carreira & Zisserman, I3D): a 2-D kernel ``w`` of shape (O, I, k, k) becomes the 3-D kernel
(O, I, k_t, k, k) that repeats ``w`` ``k_t`` times along time and divides by ``k_t``. On a clip of identical
frames every 3-D conv then computes what the 2-D conv computes on the frame (where its temporal window holds no
padding), so the inflated model starts as the image model applied to a static clip. Biases, norms and layer
scales are copied (the layer scale is (C,) in both); the 2-D classifier is not used (a video model has its own).
"""

from __future__ import annotations

import torch
from torch import nn

from .official import from_official, is_official
from .weights import CheckpointError, match_report

__all__ = ["inflate_state_dict", "is_3d_state_dict", "video_state_dict"]

STEM_KEY = "stem.conv1.conv.weight"


def video_state_dict(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """This package's keys from any layout a V-EMOv2 (or 2-D EMOv2) state dict comes in: ours, the official 2-D
    layout (``stage0.*``), or mmaction2's ``Recognizer3D`` (``backbone.stage0.*``, ``cls_head.fc_cls.*``, as
    the official video log names the parameters); a DDP ``module.`` prefix is dropped."""
    out = {}
    for k, v in sd.items():
        k = k.removeprefix("module.").removeprefix("backbone.")
        if k.startswith("cls_head.fc_cls."):
            k = "head." + k[len("cls_head.fc_cls."):]
        out[k] = v
    return from_official(out) if is_official(out) else out


def is_3d_state_dict(sd: dict[str, torch.Tensor]) -> bool:
    """Whether the stem conv is 3-D (a V-EMOv2 checkpoint) rather than 2-D; raises when there is no stem."""
    w = sd.get(STEM_KEY)
    if w is None:
        raise CheckpointError(f"not an EMOv2 state dict: no {STEM_KEY} (first keys: {', '.join(list(sd)[:4])})")
    return w.ndim == 5


def _deflated(shape: torch.Size) -> torch.Size:
    return torch.Size([shape[0], shape[1], *shape[3:]]) if len(shape) == 5 else shape


@torch.no_grad()
def inflate_state_dict(sd2d: dict[str, torch.Tensor], model: nn.Module, *, source: str = "checkpoint",
                       guess=None) -> dict[str, torch.Tensor]:
    """The state dict of the 3-D ``model`` (V-EMOv2) from the 2-D EMOv2 weights ``sd2d`` (our keys).

    Every non-head tensor of ``model`` must have its 2-D counterpart (same key; a 5-D conv weight
    (O, I, k_t, k, k) from (O, I, k, k)); a mismatch raises :class:`CheckpointError` naming the keys (``guess``:
    ``sd -> variant name`` for the hint). The classifier ``head.*`` is ``model``'s own (freshly initialised).
    """
    target = model.state_dict()
    expected = {k: _deflated(v.shape) for k, v in target.items() if not k.startswith("head.")}
    body = {k: v for k, v in sd2d.items() if not k.startswith("head.")}
    problem = match_report(expected, body)
    if problem:
        hint = ""
        if guess is not None and (g := guess(sd2d)):
            hint = f"; the checkpoint looks like {g}"
        raise CheckpointError(f"{source} does not fit the 2-D model that {type(model).__name__} inflates: "
                              f"{problem}{hint}")
    out = {}
    for k, t in target.items():
        if k.startswith("head."):
            out[k] = t.clone()
            continue
        v = body[k].to(dtype=t.dtype, device=t.device)
        if t.ndim == 5 and v.ndim == 4:
            k_t = t.shape[2]
            v = v.unsqueeze(2).repeat(1, 1, k_t, 1, 1) / k_t
        out[k] = v
    return out
