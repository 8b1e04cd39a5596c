"""The frame-averaged 2-D baseline of video recognition: an image classifier on every frame, logits averaged.

It sees each frame on its own and averages, so it is blind to frame order: any permutation of a clip's frames
gives the same logits. A time-reversed 'left' clip is a 'right' clip, so on classes that differ only in the
direction of a motion (left/right, clockwise/counter-clockwise) it cannot do better than chance between them,
whatever it learns. It is the control that shows what a 3-D model gains from time.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FrameAveraged"]


class FrameAveraged(nn.Module):
    """``model`` (a 2-D classifier, (N, C, H, W) -> (N, K)) on each frame of (B, C, T, H, W) clips -> mean (B, K).

    Args:
        model: the image classifier (e.g. ``emov2.create_model('emov2_1m', num_classes=K)``).
        num_frames, img_size: the clip it is made for (``pretrained_cfg['num_frames']``, ``['input_size']`` =
            (3, S, S), as V-EMOv2 records them); any size runs.
    """

    def __init__(self, model: nn.Module, num_frames: int = 4, img_size: int = 160) -> None:
        super().__init__()
        self.model = model
        self.num_classes = getattr(model, "num_classes", 0)
        cfg = dict(getattr(model, "pretrained_cfg", None) or {})
        in_chans = (cfg.get("input_size") or (3,))[0]
        self.pretrained_cfg = {**cfg, "input_size": (in_chans, img_size, img_size), "num_frames": num_frames}

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.model.set_grad_checkpointing(enable)

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.model.get_classifier()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, K): the frames as one batch of B * T images, logits averaged over T."""
        b, c, t, h, w = x.shape
        logits = self.model(x.transpose(1, 2).reshape(b * t, c, h, w))
        return logits.view(b, t, -1).mean(1)
