"""Sliding-window inference (mmseg ``slide_inference`` semantics) and the vessel evaluation built on it."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from emov2.segmentation.engine import evaluate_vessels, predict_logits
from emov2.segmentation.slide import slide_logits, window_boxes


class Pointwise(nn.Module):
    """Logits that are a function of each pixel alone (a 1x1 conv): any window gives the full image's values."""

    def __init__(self, k=3):
        super().__init__()
        self.conv = nn.Conv2d(3, k, 1)
        self.calls = []

    def forward(self, x):
        self.calls.append(tuple(x.shape))
        return {"out": self.conv(x)}


class LocalColumn(nn.Module):
    """Logit = the column index inside the window (so each window's contribution is visible)."""

    def forward(self, x):
        b, _, h, w = x.shape
        return {"out": torch.arange(w, dtype=torch.float32).expand(b, 1, h, w).clone()}


def test_window_boxes_as_mmseg():
    # H 10, crop 6, stride 4: grids = (10 - 6 + 3) // 4 + 1 = 2 -> y1 0 and 4 (the second ends at the border)
    assert window_boxes(10, 10, (6, 6), (4, 4)) == [(0, 6, 0, 6), (0, 6, 4, 10), (4, 10, 0, 6), (4, 10, 4, 10)]
    # HRF: 2336 x 3504, crop 256, stride 170 -> 14 x 21 windows, the last ones shifted back to the border
    boxes = window_boxes(2336, 3504, (256, 256), (170, 170))
    assert len(boxes) == 14 * 21 and boxes[-1] == (2336 - 256, 2336, 3504 - 256, 3504)
    assert all(y2 - y1 == 256 and x2 - x1 == 256 for y1, y2, x1, x2 in boxes)
    assert window_boxes(5, 7, (8, 8), (4, 4)) == [(0, 5, 0, 7)]  # smaller than the crop: one window


def test_pointwise_model_recovers_full_image():
    torch.manual_seed(0)
    model = Pointwise().eval()
    x = torch.randn(2, 3, 50, 70)
    full = model(x)["out"]
    for crop, stride, batch in [(16, 10, 8), (32, 17, 3), ((24, 40), (11, 29), 1)]:
        got = slide_logits(model, x, crop, stride, batch)
        torch.testing.assert_close(got, full, rtol=1e-6, atol=1e-6)
    model.calls.clear()
    slide_logits(model, x, 16, 10, batch_windows=4)
    n = len(window_boxes(50, 70, (16, 16), (10, 10)))
    assert sum(c[0] for c in model.calls) == 2 * n and max(c[0] for c in model.calls) == 2 * 4


def test_overlaps_are_averaged():
    x = torch.zeros(1, 3, 6, 10)
    got = slide_logits(LocalColumn(), x, (6, 6), (4, 4))[0, 0, 0]
    # window A covers columns 0-5 (local 0..5), window B columns 4-9 (local 0..5): columns 4, 5 average A and B
    assert got.tolist() == [0, 1, 2, 3, (4 + 0) / 2, (5 + 1) / 2, 2, 3, 4, 5]


def test_small_image_is_padded_to_the_crop():
    model = Pointwise().eval()
    x = torch.randn(1, 3, 20, 30)
    got = slide_logits(model, x, 32, 20)
    assert model.calls[-1] == (1, 3, 32, 32) and got.shape == (1, 3, 20, 30)
    torch.testing.assert_close(got, model(x)["out"], rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="positive"):
        slide_logits(model, x, 32, 0)


def test_predict_logits_resizes_to_label():
    model = Pointwise().eval()
    img = torch.randn(3, 40, 60)
    assert predict_logits(model, img, (80, 120), slide=(32, 21)).shape == (3, 80, 120)
    torch.testing.assert_close(predict_logits(model, img, (40, 60), slide=(32, 21)),
                               predict_logits(model, img, (40, 60)), rtol=1e-6, atol=1e-6)


class TinyVessels(torch.utils.data.Dataset):
    num_classes = 2

    def __init__(self):
        g = torch.Generator().manual_seed(1)
        self.items = [(torch.randn(3, 40, 56, generator=g), torch.randint(0, 2, (40, 56), generator=g))
                      for _ in range(2)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_evaluate_vessels_matches_hand_confusion():
    torch.manual_seed(0)
    ds = TinyVessels()
    model = Pointwise(2).train()
    m = evaluate_vessels(model, ds, crop=32, stride=21)
    assert model.training  # the mode is restored
    tp = fp = fn = tn = 0
    with torch.no_grad():
        for img, lab in ds:
            pred = model(img[None])["out"][0].argmax(0)
            tp += ((pred == 1) & (lab == 1)).sum().item()
            fp += ((pred == 1) & (lab == 0)).sum().item()
            fn += ((pred == 0) & (lab == 1)).sum().item()
            tn += ((pred == 0) & (lab == 0)).sum().item()
    assert m["Dice.vessel"] == pytest.approx(round(100 * 2 * tp / (2 * tp + fp + fn), 2))
    assert m["Dice.background"] == pytest.approx(round(100 * 2 * tn / (2 * tn + fp + fn), 2))
    assert m["aAcc"] == pytest.approx(round(100 * (tp + tn) / (tp + tn + fp + fn), 2))
    assert {"mDice", "mIoU", "mAcc", "IoU.vessel", "Acc.vessel"} <= set(m)


class DarkIsVessel(nn.Module):
    """Vessel logit up where the (normalised) green channel is dark."""

    def forward(self, x):
        g = x[:, 1:2]
        return {"out": torch.cat([g, -g], dim=1)}


def test_predict_vessel_map_and_drawing(tmp_path):
    from emov2.segmentation.draw import draw_vessels
    from emov2.segmentation.engine import predict_vessel_map

    image = torch.full((3, 40, 60), 0.8)
    image[:, 10:14, :] = 0.1  # a dark horizontal "vessel"
    pred = predict_vessel_map(DarkIsVessel(), image, crop=32, stride=21)
    assert pred.shape == (40, 60) and pred[10:14].eq(1).all() and pred[:10].eq(0).all()
    label = torch.zeros(40, 60, dtype=torch.long)
    label[12:16] = 1
    label[0, 0] = 255
    draw_vessels(image, pred, tmp_path / "v.png", label)
    out = np.array(Image.open(tmp_path / "v.png")).astype(int)
    assert out.shape == (40, 120, 3)
    assert out[11, 5].tolist() == [10, 163, 163]  # 0.4 * 25.5 + 0.6 * (0, 255, 255): cyan over the vessel
    assert out[12, 65].tolist() == [255, 255, 255]  # agreement
    assert out[10, 65].tolist() == [255, 40, 40]  # predicted only
    assert out[15, 65].tolist() == [40, 90, 255]  # missed
    assert out[0, 60].tolist() == [102, 102, 102]  # ignored: the dimmed image
