"""Contact sheets: a PNG grid of clips' sampled frames, one row per clip, one column per frame, with a caption
above each row (e.g. ``true: left  pred: right (0.71)``), for ``predict`` and the docs."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ...utils.files import atomic_write

__all__ = ["contact_sheet", "save_contact_sheet"]

_PAD, _CAPTION = 4, 14


def _frames_hwc(clip) -> np.ndarray:
    a = clip.detach().cpu().numpy() if isinstance(clip, torch.Tensor) else np.asarray(clip)
    if a.ndim != 4 or a.shape[-1] != 3 or a.dtype != np.uint8:
        raise ValueError(f"a clip must be uint8 frames (T, H, W, 3), got {a.dtype} {tuple(a.shape)} "
                         "(use transforms.clip_to_frames for a normalised (C, T, H, W) clip)")
    return a


def _caption(i: int, captions, true, pred, scores, classes) -> str:
    def name(k):
        return classes[k] if classes is not None and isinstance(k, (int, np.integer)) else str(k)

    parts = []
    if captions is not None:
        parts.append(str(captions[i]))
    if true is not None:
        parts.append(f"true: {name(true[i])}")
    if pred is not None:
        parts.append(f"pred: {name(pred[i])}" + (f" ({float(scores[i]):.2f})" if scores is not None else ""))
    if true is not None and pred is not None:
        parts.append("ok" if name(true[i]) == name(pred[i]) else "WRONG")
    return "  ".join(parts)


def contact_sheet(clips: Sequence, *, captions: Sequence[str] | None = None, true: Sequence | None = None,
                  pred: Sequence | None = None, scores: Sequence[float] | None = None,
                  classes: Sequence[str] | None = None, min_side: int = 96) -> Image.Image:
    """A grid image of ``clips`` (each uint8 (T, H, W, 3)); rows are clips, columns frames.

    Args:
        captions: free text per row. true, pred: class indices (named through ``classes``) or names per row;
            scores: the predicted class's probability. min_side: small frames are enlarged (nearest) to this.
    """
    if not len(clips):
        raise ValueError("no clips to draw")
    arrays = [_frames_hwc(c) for c in clips]
    h = max(a.shape[1] for a in arrays)
    w = max(a.shape[2] for a in arrays)
    k = max(1, int(np.ceil(min_side / min(h, w))))
    fh, fw = h * k, w * k
    cols = max(a.shape[0] for a in arrays)
    has_text = any(x is not None for x in (captions, true, pred))
    row_h = fh + _PAD + (_CAPTION if has_text else 0)
    sheet = Image.new("RGB", (cols * (fw + _PAD) + _PAD, len(arrays) * row_h + _PAD), (255, 255, 255))
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default()
    for r, a in enumerate(arrays):
        y = _PAD + r * row_h
        if has_text:
            draw.text((_PAD, y), _caption(r, captions, true, pred, scores, classes), fill=(0, 0, 0), font=font)
            y += _CAPTION
        for c, frame in enumerate(a):
            im = Image.fromarray(frame).resize((frame.shape[1] * k, frame.shape[0] * k), Image.NEAREST)
            sheet.paste(im, (_PAD + c * (fw + _PAD), y))
    return sheet


def save_contact_sheet(path: str | os.PathLike, clips: Sequence, **kwargs) -> str:
    """:func:`contact_sheet` written atomically to the PNG ``path``; returns the path."""
    sheet = contact_sheet(clips, **kwargs)
    atomic_write(path, lambda tmp: sheet.save(tmp, format="PNG", optimize=True))
    return str(path)
