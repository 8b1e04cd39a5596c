"""Statistics and interleaving of the timer (no timed assertions)."""

import pytest

from emov2.benchmark import summarize, time_interleaved


def test_summarize_quantiles():
    s = summarize([float(v) for v in range(1, 12)])  # 1..11
    assert (s.n, s.median, s.minimum) == (11, 6.0, 1.0)
    assert s.p10 == pytest.approx(2.0) and s.p90 == pytest.approx(10.0)
    assert s.p25 == pytest.approx(3.5) and s.p75 == pytest.approx(8.5)
    assert summarize([3.0]).median == 3.0
    with pytest.raises(ValueError):
        summarize([])


def test_interleaving_rotates_order():
    calls = []
    runners = {k: (lambda k=k: calls.append(k)) for k in "abc"}
    samples = time_interleaved(runners, warmup=1, reps=3, iters=2)
    assert calls[:3] == ["a", "b", "c"]  # warm-up
    timed = calls[3:]
    firsts = [timed[i] for i in range(0, len(timed), 6)]  # each rep: 3 runners x 2 iters
    assert firsts == ["a", "b", "c"]  # a different runner leads each repetition
    assert all(len(v) == 3 and all(t >= 0 for t in v) for v in samples.values())
