"""COCO reading: bad input handling (errors and counted skips) and pycocotools metrics on known answers."""

import copy
import json

import numpy as np
import pytest
import torch

from emov2.detection.data import CocoDetection, load_coco
from emov2.detection.evaluate import coco_metrics


def test_reads_boxes_labels_masks(rect_coco):
    images, ann, coco = rect_coco
    ds = CocoDetection(images, ann, with_masks=True)
    assert len(ds) == 6 and ds.num_classes == 2 and ds.class_names == ["red", "green"]
    assert ds.label_to_cat == {1: 3, 2: 7}
    img, t = ds[1]
    assert img.shape == (3, 64, 64) and 0 <= float(img.min()) and float(img.max()) <= 1
    a = [x for x in coco["annotations"] if x["image_id"] == 2]
    x, y, w, h = a[0]["bbox"]
    assert t["boxes"][0].tolist() == [x, y, x + w, y + h]
    assert t["labels"].tolist() == [{3: 1, 7: 2}[x["category_id"]] for x in a]
    assert t["masks"].shape == (len(a), 64, 64) and int(t["masks"][0].sum()) == w * h


def test_unparseable_and_malformed_files(tmp_path, rect_coco):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_coco(bad)
    bad.write_text(json.dumps({"images": []}))
    with pytest.raises(ValueError, match="not a COCO instances file"):
        load_coco(bad)
    with pytest.raises(FileNotFoundError):
        load_coco(tmp_path / "missing.json")


def test_bad_annotations_are_skipped_and_counted(tmp_path, rect_coco):
    images, _, coco = rect_coco
    c = copy.deepcopy(coco)
    anns = c["annotations"]
    anns[0]["bbox"] = [70, 70, 10, 10]          # entirely outside the 64x64 image
    anns[1]["bbox"] = [5, 5, 0, 10]             # zero width
    anns[2]["category_id"] = 99                 # unknown class
    anns[3]["segmentation"]["size"] = [32, 32]  # mask size mismatch
    anns[4]["bbox"] = [-4, -4, 20, 20]          # partly outside: clipped
    p = tmp_path / "ann.json"
    p.write_text(json.dumps(c))
    ds = CocoDetection(images, p, with_masks=True)
    assert ds.skipped == {"outside": 1, "zero_area": 1, "unknown_class": 1, "mask_size": 1, "clipped": 1}
    kept = sum(len(r[2]) for r in ds.records)
    assert kept == len(anns) - 4
    for i in range(len(ds)):
        _, t = ds[i]
        assert (t["boxes"][:, :2] >= 0).all() and (t["boxes"][:, 2:] <= 64).all()


def _gt_as_results(coco, score=1.0):
    return [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": score,
             "segmentation": a["segmentation"]} for a in coco["annotations"]]


def test_coco_metrics_known_answers(rect_coco):
    images, ann, coco = rect_coco
    ds = CocoDetection(images, ann, with_masks=True)
    perfect = coco_metrics(ds, _gt_as_results(coco), ("bbox", "segm"))
    assert perfect["AP"] == pytest.approx(100.0) and perfect["mask_AP"] == pytest.approx(100.0)
    assert coco_metrics(ds, [])["AP"] == 0.0
    # Wrong class everywhere: no true positive.
    wrong = [dict(r, category_id=7 if r["category_id"] == 3 else 3) for r in _gt_as_results(coco)]
    assert coco_metrics(ds, wrong)["AP"] == 0.0
    # Half the objects found: recall 0.5 at every IoU -> AP about 50 (101-point interpolation).
    res = _gt_as_results(coco)
    half = [r for i, r in enumerate(res) if i % 2 == 0]
    ap = coco_metrics(ds, half)["AP"]
    assert 30 < ap < 70


def test_make_shapes(tmp_path):
    pytest.importorskip("pycocotools")
    from emov2.data.fashion_mnist import find_fashion_mnist

    if find_fashion_mnist() is None:
        pytest.skip("dataset-fashion-mnist is not installed")
    from PIL import Image

    from emov2.data.shapes import make_shapes

    counts = make_shapes(tmp_path, num_train=6, num_val=3, size=96, max_objects=3, max_obj=48, seed=1)
    assert counts["training"]["images"] == 6 and counts["validation"]["images"] == 3
    ds = CocoDetection(tmp_path / "images" / "training", tmp_path / "instances_training.json", with_masks=True)
    assert not ds.skipped and ds.num_classes == 10
    for i in range(len(ds)):
        img, t = ds[i]
        sem = np.asarray(Image.open(tmp_path / "annotations" / "training" / f"{i:06d}.png"))
        assert img.shape == (3, 96, 96) and sem.shape == (96, 96)
        for box, label, mask in zip(t["boxes"], t["labels"], t["masks"], strict=True):
            ys, xs = torch.nonzero(mask, as_tuple=True)
            assert box.tolist() == [xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1]
            assert (sem[mask.numpy().astype(bool)] == int(label)).all()  # label k+1 for Fashion-MNIST class k
        assert (sem > 0).sum() == int(t["masks"].sum())
