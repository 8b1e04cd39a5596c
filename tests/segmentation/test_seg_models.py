"""Segmenters: parameter counts (hand numbers and the paper's), output shapes, a few training steps."""

import pytest
import torch

from emov2.cli.info_dense import inference_params
from emov2.segmentation import SEGMENTERS, create_segmenter
from emov2.segmentation.data import SegmentationFolder
from emov2.segmentation.engine import evaluate_segmenter, segmentation_loss
from emov2.segmentation.paper import PAPER_SEG
from emov2.segmentation.transforms import SegEval, SegTrain

ADE = [a for a in SEGMENTERS if a != "unet"]  # the UNet segmenters have their own tests (test_unet.py)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("arch", ADE)
@pytest.mark.parametrize("backbone", ["emov2_1m", "emov2_5m"])
def test_params_match_paper(arch, backbone):
    model = create_segmenter(arch, backbone, 150)
    assert abs(inference_params(model) / 1e6 / PAPER_SEG[arch][backbone]["params"] - 1) < 0.10


def test_head_hand_counts():
    k = 150
    cbr = lambda cin, cout, ks=1: ks * ks * cin * cout + 2 * cout  # noqa: E731  conv (no bias) + BN
    cls = lambda c: c * k + k  # noqa: E731
    m = create_segmenter("segformer", "emov2_1m", k)
    chans, c = [32, 48, 80, 180], 180
    assert n_params(m.decode_head) == sum(cbr(ci, c) for ci in chans) + cbr(4 * c, c) + cls(c)
    m = create_segmenter("deeplabv3", "emov2_1m", k)
    aspp = cbr(180, 256) + cbr(180, 256) + 3 * cbr(180, 256, 3) + cbr(5 * 256, 256, 3) + cls(256)
    assert n_params(m.decode_head) == aspp
    assert n_params(m.aux_head) == cbr(80, 256, 3) + cls(256)
    m = create_segmenter("pspnet", "emov2_1m", k)
    assert n_params(m.decode_head) == 4 * cbr(180, 256) + cbr(180 + 4 * 256, 256, 3) + cls(256)


@pytest.mark.parametrize("arch", ADE)
def test_output_shapes(arch):
    m = create_segmenter(arch, "emov2_1m", 5)
    x = torch.randn(2, 3, 72, 100)
    out = m.train()(x)
    assert out["out"].shape == (2, 5, 72, 100)
    assert ("aux" in out) == (arch in ("deeplabv3", "pspnet"))
    with torch.no_grad():
        assert set(m.eval()(x)) == {"out"}
    with pytest.raises(ValueError, match="unknown segmenter"):
        create_segmenter("unet3d", "emov2_1m", 5)


@pytest.mark.parametrize("arch", ADE)
def test_train_steps_and_evaluate(arch, rect_ade):
    torch.manual_seed(0)
    ds = SegmentationFolder(rect_ade, "training", 3, transforms=SegTrain(crop=64, scale=(80, 64)))
    loader = torch.utils.data.DataLoader(ds, batch_size=2)
    model = create_segmenter(arch, "emov2_1m", 3)
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    model.train()
    for images, labels in loader:
        assert images.shape == (2, 3, 64, 64) and labels.shape == (2, 64, 64)
        losses = segmentation_loss(model, (images, labels))
        assert torch.isfinite(losses["loss"])
        opt.zero_grad()
        losses["loss"].backward()
        opt.step()
    val = SegmentationFolder(rect_ade, "validation", 3, transforms=SegEval((80, 64)))
    m = evaluate_segmenter(model, val)
    assert set(m) == {"mIoU", "aAcc", "mAcc"} and all(0 <= v <= 100 for v in m.values())
