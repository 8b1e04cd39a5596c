"""Contact sheets: one row per clip, one column per frame, captions with true/predicted classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from emov2.data.video.contact_sheet import _caption, contact_sheet, save_contact_sheet
from emov2.data.video.transforms import build_video_eval_transform, clip_to_frames


def test_grid_layout_and_pixels(tmp_path: Path) -> None:
    clips = [np.full((4, 32, 32, 3), 40 * (r + 1), np.uint8) for r in range(3)]
    clips[1][2] = 255  # row 1, frame 2 is white
    path = save_contact_sheet(tmp_path / "sheet.png", clips, true=[0, 1, 2], pred=[0, 2, 2], scores=[0.9, 0.6, 0.5],
                              classes=["left", "right", "up"], min_side=64)
    im = np.asarray(Image.open(path))
    # frames are enlarged 2x (32 -> 64); 4 px padding; a 14 px caption above each row
    assert im.shape == (3 * (64 + 4 + 14) + 4, 4 * (64 + 4) + 4, 3)
    def frame_centre(r: int, c: int) -> np.ndarray:
        return im[4 + r * 82 + 14 + 32, 4 + c * 68 + 32]
    assert frame_centre(0, 0).tolist() == [40] * 3 and frame_centre(2, 3).tolist() == [120] * 3
    assert frame_centre(1, 2).tolist() == [255] * 3 and frame_centre(1, 1).tolist() == [80] * 3
    assert (im[4:4 + 14, 4:200] < 128).any()  # caption text drawn


def test_caption_text() -> None:
    classes = ["left", "right"]
    assert _caption(0, None, [0], [1], [0.71], classes) == "true: left  pred: right (0.71)  WRONG"
    assert _caption(0, ["clip 3"], ["left"], ["left"], None, None) == "clip 3  true: left  pred: left  ok"


def test_from_a_normalised_clip_and_errors() -> None:
    frames = torch.randint(0, 256, (4, 16, 16, 3), dtype=torch.uint8)
    clip = build_video_eval_transform(16)(frames)  # (C, T, H, W) float
    sheet = contact_sheet([clip_to_frames(clip)], min_side=16)
    assert sheet.size == (4 * 20 + 4, 16 + 4 + 4)
    with pytest.raises(ValueError, match="clip_to_frames"):
        contact_sheet([clip])
    with pytest.raises(ValueError, match="no clips"):
        contact_sheet([])
