"""ADE20K-layout reading: reduce_zero_label, bad labels, pairing, transforms; the seg CLI end to end."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from emov2.cli.main import main
from emov2.segmentation.data import SegmentationFolder
from emov2.segmentation.transforms import SegEval, SegTrain


def _pair(root, name, lab, size=None):
    (root / "images" / "s").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "s").mkdir(parents=True, exist_ok=True)
    h, w = size or lab.shape
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(root / "images" / "s" / f"{name}.jpg")
    Image.fromarray(lab.astype(np.uint8)).save(root / "annotations" / "s" / f"{name}.png")


def test_reduce_zero_label(tmp_path):
    _pair(tmp_path, "a", np.array([[0, 1, 2], [150, 255, 3]]))
    ds = SegmentationFolder(tmp_path, "s", 150, reduce_zero_label=True)
    _, lab = ds[0]
    assert lab.tolist() == [[255, 0, 1], [149, 255, 2]]
    _, lab = SegmentationFolder(tmp_path, "s", 151)[0]
    assert lab.tolist() == [[0, 1, 2], [150, 255, 3]]


def test_bad_labels(tmp_path):
    _pair(tmp_path, "a", np.array([[0, 7]]))
    with pytest.raises(ValueError, match="out of range"):
        SegmentationFolder(tmp_path, "s", 5)[0]
    _pair(tmp_path, "a", np.zeros((4, 4)), size=(5, 5))
    with pytest.raises(ValueError, match="differs from image size"):
        SegmentationFolder(tmp_path, "s", 5)[0]
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "images" / "s" / "lonely.jpg")
    assert SegmentationFolder(tmp_path, "s", 5).skipped == {"unpaired": 1}
    with pytest.raises(FileNotFoundError, match="ADE20K layout"):
        SegmentationFolder(tmp_path, "nosplit", 5)


def test_transforms_shapes_and_ignore_padding():
    torch.manual_seed(0)
    img, lab = torch.rand(3, 20, 30), torch.ones(20, 30, dtype=torch.long)
    x, y = SegTrain(crop=64, scale=(30, 20), ratio=(1.0, 1.0))(img, lab)
    assert x.shape == (3, 64, 64) and y.shape == (64, 64)
    assert (y[20:, :] == 255).all() and (y[:, 30:] == 255).all() and (y[:20, :30] == 1).all()
    x, y = SegEval((60, 40))(img, lab)
    assert x.shape == (3, 40, 60) and y.shape == (20, 30)


def test_cli_train_eval_predict(tmp_path, rect_ade, capsys):
    out = tmp_path / "run"
    rc = main(["seg", "train", "--arch", "fpn", "--backbone", "emov2_1m", "--data", str(rect_ade), "--num-classes", "3",
               "--output", str(out), "--iters", "2", "--batch-size", "2", "--crop", "64", "--scale", "80", "64",
               "--warmup-iters", "1", "--workers", "0"])
    assert rc == 0
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    first = next(r for r in rows if r["kind"] == "eval")
    assert first["step"] == 0 and {"mIoU", "aAcc", "mAcc"} <= set(first)  # the untrained model, evaluated first
    assert (out / "last.pt").is_file() and (out / "curves.png").is_file() and (out / "best.json").is_file()
    assert main(["seg", "eval", "--checkpoint", str(out / "best.safetensors"), "--data", str(rect_ade), "--json"]) == 0
    assert "mIoU" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    img = rect_ade / "images" / "validation" / "0.png"
    assert main(["seg", "predict", "--checkpoint", str(out / "last.pt"), str(img), "--output",
                 str(tmp_path / "p")]) == 0
    pred = Image.open(tmp_path / "p" / "0.png")
    assert pred.size == (2 * 80, 64)  # overlay and colour map side by side
    assert main(["seg", "eval", "--checkpoint", str(out / "last.pt"), "--data", str(tmp_path / "none")]) == 2
