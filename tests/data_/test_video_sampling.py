"""UniformSample (mmaction2) indices, hand-checked."""

from __future__ import annotations

import numpy as np
import pytest

from emov2.data.video.sampling import uniform_sample


def test_test_mode_hand_checked() -> None:
    # n = 8, clip_len 4: s = 7/4, bounds round(1.75 i) = 0, 2, 4 (3.5 -> 4, half to even), 5, 7; offset int(s/2) = 0
    assert uniform_sample(8, 4, train=False).tolist() == [0, 2, 4, 5]
    # n = 300: s = 74.75, starts 0, 75, 150 (149.5 -> 150), 224; offset int(37.375) = 37
    assert uniform_sample(300, 4, train=False).tolist() == [37, 112, 187, 261]
    # n = 16: s = 3.75, starts 0, 4 (3.75), 8 (7.5 -> 8), 11 (11.25); offset int(1.875) = 1
    assert uniform_sample(16, 4, train=False).tolist() == [1, 5, 9, 12]
    # two clips: offsets int(s/3 * k) for k = 1, 2 -> 1 and 2 for n = 16
    assert uniform_sample(16, 4, train=False, num_clips=2).tolist() == [1, 5, 9, 12, 2, 6, 10, 13]


def test_train_mode_draws_inside_each_segment() -> None:
    rng = np.random.default_rng(0)
    segments = [(0, 2), (2, 4), (4, 5), (5, 7)]  # n = 8, inclusive bounds
    seen = [set() for _ in segments]
    for _ in range(400):
        inds = uniform_sample(8, 4, train=True, rng=rng)
        for k, (lo, hi) in enumerate(segments):
            assert lo <= inds[k] <= hi
            seen[k].add(int(inds[k]))
    assert seen == [set(range(lo, hi + 1)) for lo, hi in segments]  # every frame of a segment is reachable


def test_short_videos_repeat_frames() -> None:
    assert uniform_sample(1, 4, train=False).tolist() == [0, 0, 0, 0]
    assert uniform_sample(2, 4, train=False).tolist() == [0, 0, 0, 1]
    rng = np.random.default_rng(1)
    assert all(set(uniform_sample(3, 4, train=True, rng=rng).tolist()) <= {0, 1, 2} for _ in range(50))
    with pytest.raises(ValueError, match="0 frames"):
        uniform_sample(0, 4, train=False)
    np.random.seed(3)  # without an rng: NumPy's global RNG (which the engine seeds per item)
    a = uniform_sample(300, 4, train=True)
    np.random.seed(3)
    assert uniform_sample(300, 4, train=True).tolist() == a.tolist()
