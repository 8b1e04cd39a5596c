"""Sliding-window inference with mmseg's ``slide_inference`` semantics (U-EMOv2 on HRF: 256 windows, stride 170).

Windows start every ``stride`` pixels; the last row/column of windows is shifted back to end at the image border,
so every window is ``crop`` wide (``h_grids = max(H - crop + stride - 1, 0) // stride + 1``, likewise for W). The
logits of overlapping windows are summed and divided by how many windows cover each pixel. An image smaller than
the crop runs as one window zero-padded on the right/bottom to ``crop`` (in normalised space, as mmseg pads) and
cropped back, so models that need fixed or divisible sizes (the UNet) still run.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["slide_logits", "window_boxes"]


def window_boxes(h: int, w: int, crop: tuple[int, int], stride: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """``(y1, y2, x1, x2)`` of every window, row by row, as mmseg's ``slide_inference`` places them."""
    (ch, cw), (sh, sw) = crop, stride
    if min(ch, cw, sh, sw) < 1:
        raise ValueError(f"crop {crop} and stride {stride} must be positive")
    boxes = []
    for i in range(max(h - ch + sh - 1, 0) // sh + 1):
        for j in range(max(w - cw + sw - 1, 0) // sw + 1):
            y2, x2 = min(i * sh + ch, h), min(j * sw + cw, w)
            boxes.append((max(y2 - ch, 0), y2, max(x2 - cw, 0), x2))
    return boxes


@torch.no_grad()
def slide_logits(model: nn.Module, images: torch.Tensor, crop: int | tuple[int, int] = 256,
                 stride: int | tuple[int, int] = 170, batch_windows: int = 8) -> torch.Tensor:
    """``(B, 3, H, W)`` normalised images -> ``(B, K, H, W)`` logits averaged over overlapping windows.

    ``model(x)["out"]`` must give ``(b, K, h, w)`` logits at its input size; ``batch_windows`` windows go
    through the model at once (eval mode: the result does not depend on the grouping).
    """
    crop = (crop, crop) if isinstance(crop, int) else tuple(crop)
    stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
    b, _, h, w = images.shape
    boxes = window_boxes(h, w, crop, stride)
    preds = count = None
    for start in range(0, len(boxes), max(1, batch_windows)):
        group = boxes[start:start + batch_windows]
        windows = torch.cat([_pad_to(images[:, :, y1:y2, x1:x2], crop) for y1, y2, x1, x2 in group])
        logits = model(windows)["out"]  # (len(group) * B, K, crop_h, crop_w)
        if preds is None:
            preds = images.new_zeros(b, logits.shape[1], h, w, dtype=logits.dtype)
            count = images.new_zeros(1, 1, h, w, dtype=logits.dtype)
        for k, (y1, y2, x1, x2) in enumerate(group):
            preds[:, :, y1:y2, x1:x2] += logits[k * b:(k + 1) * b, :, : y2 - y1, : x2 - x1]
            count[:, :, y1:y2, x1:x2] += 1
    return preds / count


def _pad_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Zero-pad ``(B, C, h, w)`` on the right/bottom to ``size`` (a no-op for full windows)."""
    ph, pw = size[0] - x.shape[2], size[1] - x.shape[3]
    return F.pad(x, (0, pw, 0, ph)) if ph or pw else x
