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
    assert cm.compute()["mIoU"] == pytest.approx(25.0)  # class 0 IoU 1/4, class 2 absent in gt


def test_errors():
    cm = ConfusionMatrix(2)
    with pytest.raises(ValueError, match="shape"):
        cm.update(torch.zeros(3, dtype=torch.long), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="0..1"):
        cm.update(torch.zeros(2, dtype=torch.long), torch.tensor([0, 5]))
