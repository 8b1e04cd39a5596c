"""The demo's schedule never plans past its time budget."""

from emov2.demo import plan


def test_plan_rounds_down_and_fits_the_budget():
    epochs, per_epoch = plan(ips=348.0, budget_s=600, n_train=60000, batch=128)  # 208,800 images fit
    assert epochs == 3 and epochs * per_epoch <= 348.0 * 600
    assert plan(ips=50.0, budget_s=600)[0] == 1  # under one epoch: one partial pass
    epochs, per_epoch = plan(ips=50.0, budget_s=600)
    assert per_epoch == 30000 // 128 * 128
