"""Frame sampling as the V-EMOv2 log (mmaction2 ``UniformSample``, clip_len 4, 1 clip).

UniformSample splits ``[0, n - 1]`` into ``clip_len`` equal segments of length ``s = (n - 1) / clip_len`` with
bounds ``round(s * i)`` (NumPy's round-half-to-even, as mmaction2):

- train: one random frame in each segment, bounds inclusive;
- val/test: the frame ``round(s * i) + int(s * (k + 1) / (num_clips + 1))`` for clip ``k``, i.e. the middle of
  each segment for one clip.

A video shorter than ``clip_len`` gets repeated frames (mmaction2's behaviour), so only a video with no
decodable frame is "too short". E.g. n = 8, clip_len 4: segments [0, 2], [2, 4], [4, 5], [5, 7], test frames
[0, 2, 4, 5]; n = 300: test frames [37, 112, 187, 261].

Train positions come from the ``rng`` given, by default NumPy's global RNG, which the engine's loader
(:class:`emov2.engine.data.SeededDataset`) seeds from ``(seed, epoch, index)`` for every item: never from the
process or the DataLoader worker, so a resumed run sees the same frames.
"""

from __future__ import annotations

import numpy as np

__all__ = ["uniform_sample"]


def uniform_sample(num_frames: int, clip_len: int, *, train: bool, num_clips: int = 1,
                   rng: np.random.Generator | None = None) -> np.ndarray:
    """Frame indices ``(num_clips * clip_len,)`` int64 of a ``num_frames`` video, clip after clip.

    Args:
        train: random frame per segment, drawn from ``rng`` (a NumPy ``Generator``; default: the global
            ``np.random``); else the deterministic test positions.
        num_clips: clips per video (train: independent draws; test: evenly offset positions in each segment).
    """
    if num_frames < 1:
        raise ValueError(f"cannot sample a video with {num_frames} frames")
    if clip_len < 1 or num_clips < 1:
        raise ValueError(f"clip_len and num_clips must be >= 1, got {clip_len}, {num_clips}")
    seg = (num_frames - 1) / clip_len
    starts = np.round(seg * np.arange(clip_len)).astype(np.int64)
    ends = np.round(seg * np.arange(1, clip_len + 1)).astype(np.int64)
    if train:
        draw = np.random.randint if rng is None else rng.integers
        return np.concatenate([draw(starts, ends + 1) for _ in range(num_clips)]).astype(np.int64)
    duration = seg / (num_clips + 1)
    return np.concatenate([starts + int(duration * (k + 1)) for k in range(num_clips)]).astype(np.int64)
