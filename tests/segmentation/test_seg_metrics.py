"""Confusion-matrix metrics on hand-made cases."""

import math

import pytest
import torch

from emov2.segmentation.metrics import ConfusionMatrix


def test_hand_made_case():
    # gt:   0 0 1 1 2 255      pred: 0 1 1 1 0 2
    gt = torch.tensor([0, 0, 1, 1, 2, 255])
    pred = torch.tensor([0, 1, 1, 1, 0, 2])
    cm = ConfusionMatrix(3)
    cm.update(pred, gt)
    assert cm.mat.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    # IoU: class0 1/(2+2-1)=1/3, class1 2/(2+3-2)=2/3, class2 0/(1+0-0)=0 ; acc: 1/2, 1, 0
    m = cm.compute()
    assert m["mIoU"] == pytest.approx(round(100 * (1 / 3 + 2 / 3 + 0) / 3, 2))
    assert m["aAcc"] == pytest.approx(60.0)
    assert m["mAcc"] == pytest.approx(50.0)


def test_absent_classes_are_left_out_and_accumulation():
    cm = ConfusionMatrix(4)
    cm.update(torch.tensor([[0, 1]]), torch.tensor([[0, 1]]))
    cm.update(torch.tensor([[1, 1]]), torch.tensor([[1, 255]]))
    pc = cm.per_class()
    assert math.isnan(pc["IoU"][2]) and math.isnan(pc["IoU"][3])
    assert cm.compute() == {"mIoU": 100.0, "aAcc": 100.0, "mAcc": 100.0}


def test_false_positive_of_absent_class_counts_against_present_ones():
    cm = ConfusionMatrix(3)
    cm.update(torch.tensor([0, 2, 2, 2]), torch.tensor([0, 0, 0, 0]))
    # mmseg IoUMetric: class 0 IoU 1/4; class 1 neither labelled nor predicted (0/0: NaN, left out); class 2 only
    # predicted: IoU 0/3 = 0 and Dice 0/3 = 0 count; its Acc is 0/0 (NaN)
    m = cm.compute(("mIoU", "mDice"))
    assert m["mIoU"] == pytest.approx(12.5)
    assert m["mDice"] == pytest.approx(100 * (2 / 5 + 0) / 2)
    assert m["mAcc"] == pytest.approx(25.0)


def test_errors():
    cm = ConfusionMatrix(2)
    with pytest.raises(ValueError, match="shape"):
        cm.update(torch.zeros(3, dtype=torch.long), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="0..1"):
        cm.update(torch.zeros(2, dtype=torch.long), torch.tensor([0, 5]))


def test_dice_and_per_class_by_hand():
    # 2 classes (background 0, vessel 1); gt / pred over 10 pixels, one ignored:
    # gt:   0 0 0 0 0 0 1 1 1 255     pred: 0 0 0 0 1 1 1 1 0 1
    gt = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1, 255])
    pred = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 0, 1])
    cm = ConfusionMatrix(2)
    cm.update(pred, gt)
    assert cm.mat.tolist() == [[4, 2], [1, 2]]
    # background: TP 4, GT 6, P 5 -> Dice 8/11, IoU 4/7, Acc 4/6; vessel: TP 2, GT 3, P 4 -> Dice 4/7, IoU 2/5, Acc 2/3
    m = cm.compute(("mDice", "mIoU"), ["background", "vessel"])
    assert m["Dice.background"] == pytest.approx(round(100 * 8 / 11, 2))
    assert m["Dice.vessel"] == pytest.approx(round(100 * 4 / 7, 2))
    assert m["IoU.vessel"] == pytest.approx(round(100 * 2 / 5, 2))
    assert m["Acc.background"] == pytest.approx(round(100 * 4 / 6, 2))
    assert m["mDice"] == pytest.approx(round(100 * (8 / 11 + 4 / 7) / 2, 2))
    assert m["mIoU"] == pytest.approx(round(100 * (4 / 7 + 2 / 5) / 2, 2))
    assert m["aAcc"] == pytest.approx(round(100 * 6 / 9, 2))
    assert m["mAcc"] == pytest.approx(round(100 * (4 / 6 + 2 / 3) / 2, 2))
    assert set(cm.compute()) == {"aAcc", "mIoU", "mAcc"}  # the default is mmseg's ['mIoU']
    assert set(cm.compute(("mDice",))) == {"aAcc", "mDice", "mAcc"}  # HRF: ['mDice']


def test_dice_is_f1_of_the_vessel_pixels():
    g = torch.Generator().manual_seed(0)
    gt, pred = torch.randint(0, 2, (50, 60), generator=g), torch.randint(0, 2, (50, 60), generator=g)
    cm = ConfusionMatrix(2)
    cm.update(pred, gt)
    tp = ((pred == 1) & (gt == 1)).sum().item()
    precision, recall = tp / (pred == 1).sum().item(), tp / (gt == 1).sum().item()
    f1 = 2 * precision * recall / (precision + recall)
    assert cm.per_class()["Dice"][1].item() == pytest.approx(f1, rel=1e-12)


def test_metric_errors():
    cm = ConfusionMatrix(2)
    with pytest.raises(ValueError, match="unknown metrics"):
        cm.compute(("mF1",))
    with pytest.raises(ValueError, match="3 class names for 2 classes"):
        cm.compute(("mDice",), ["a", "b", "c"])
    with pytest.raises(ValueError, match="predicted labels"):
        cm.update(torch.tensor([0, 2]), torch.tensor([0, 1]))
