"""The demo's schedule never plans past its time budget, at any throughput."""

import pytest

from emov2.demo import plan


@pytest.mark.parametrize("ips", [0.5, 3.0, 20.0, 50.0, 348.0, 2000.0])
def test_plan_never_exceeds_the_budget(ips: float) -> None:
    budget = 600
    if ips * budget < 128:
        with pytest.raises(ValueError, match="fewer than one batch"):
            plan(ips, budget, n_train=55000, batch=128)
        return
    epochs, per_epoch = plan(ips, budget, n_train=55000, batch=128)
    assert epochs >= 1 and per_epoch % 128 == 0 and 128 <= per_epoch <= 55000
    assert epochs * per_epoch <= ips * budget  # the claim: never more images than the budget trains


def test_plan_rounds_down() -> None:
    assert plan(348.0, 600, n_train=55000, batch=128) == (3, 55000 // 128 * 128)  # 208,800 images: 3 whole epochs
    assert plan(50.0, 600, n_train=55000, batch=128) == (1, 30000 // 128 * 128)  # under one epoch: a partial pass
