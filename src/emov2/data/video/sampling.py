"""Frame sampling as the V-EMOv2 log (mmaction2 ``UniformSample``, clip_len 4, 1 clip) and per-sample seeds.

UniformSample splits ``[0, n - 1]`` into ``clip_len`` equal segments of length ``s = (n - 1) / clip_len`` with
bounds ``round(s * i)`` (NumPy's round-half-to-even, as mmaction2):

- train: one random frame in each segment, bounds inclusive;
- val/test: the frame ``round(s * i) + int(s * (k + 1) / (num_clips + 1))`` for clip ``k``, i.e. the middle of
  each segment for one clip.

A video shorter than ``clip_len`` gets repeated frames (mmaction2's behaviour), so only a video with no
decodable frame is "too short". E.g. n = 8, clip_len 4: segments [0, 2], [2, 4], [4, 5], [5, 7], test frames
[0, 2, 4, 5]; n = 300: test frames [37, 112, 187, 261].

Randomness is keyed by ``(seed, epoch, index)`` (:func:`sample_seed`), never by the process or the
DataLoader worker, so a resumed run sees the same frames and augmentation.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sample_seed", "uniform_sample"]


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed that depends only on ``(seed, epoch, index)`` (NumPy ``SeedSequence`` mixing)."""
    if min(seed, epoch, index) < 0:
        raise ValueError(f"seed, epoch and index must be >= 0, got {(seed, epoch, index)}")
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def uniform_sample(num_frames: int, clip_len: int, *, train: bool, num_clips: int = 1,
                   rng: np.random.Generator | None = None) -> np.ndarray:
    """Frame indices ``(num_clips * clip_len,)`` int64 of a ``num_frames`` video, clip after clip.

    Args:
        train: random frame per segment (needs ``rng``); else the deterministic test positions.
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
        if rng is None:
            raise ValueError("train sampling needs an rng (numpy Generator)")
        return np.concatenate([rng.integers(starts, ends + 1) for _ in range(num_clips)]).astype(np.int64)
    duration = seg / (num_clips + 1)
    return np.concatenate([starts + int(duration * (k + 1)) for k in range(num_clips)]).astype(np.int64)
