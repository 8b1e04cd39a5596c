"""Every detector trains a few steps and evaluates; the CLI runs train -> eval -> predict end to end."""

import json

import pytest
import torch

from emov2.cli.main import main
from emov2.detection import create_detector
from emov2.detection.data import CocoDetection, collate
from emov2.detection.task import detection_loss, evaluate_detector
from emov2.detection.transforms import detection_transforms

KW = {"ssdlite": dict(size=96), "retinanet": dict(min_size=64, max_size=64), "maskrcnn": dict(min_size=64, max_size=64)}


@pytest.mark.parametrize("arch", ["ssdlite", "retinanet", "maskrcnn"])
def test_train_steps_and_evaluate(arch, rect_coco):
    torch.manual_seed(0)
    images, ann, _ = rect_coco
    masks = arch == "maskrcnn"
    ds = CocoDetection(images, ann, detection_transforms(arch, True), with_masks=masks)
    loader = torch.utils.data.DataLoader(ds, batch_size=3, collate_fn=collate)
    model = create_detector(arch, "emov2_1m", ds.num_classes, **KW[arch])
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], 1e-3)
    model.train()
    for batch in loader:
        losses = detection_loss(model, batch)
        assert torch.isfinite(losses["loss"])
        opt.zero_grad()
        losses["loss"].backward()
        opt.step()
    expected = {"ssdlite": {"bbox_regression", "classification"}, "retinanet": {"bbox_regression", "classification"},
                "maskrcnn": {"loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg"}}
    assert expected[arch] <= set(losses)
    val = CocoDetection(images, ann, with_masks=masks)
    metrics = evaluate_detector(model, val, batch_size=3, masks=masks)
    assert set(metrics) >= {"AP", "AP50", "AP75", "APs", "APm", "APl"}
    assert all(0.0 <= v <= 100.0 for v in metrics.values())
    if masks:
        assert "mask_AP" in metrics


def test_cli_train_eval_predict(tmp_path, rect_coco, capsys):
    images, ann, _ = rect_coco
    out = tmp_path / "run"
    data = ["--train-ann", str(ann), "--train-images", str(images), "--val-ann", str(ann), "--val-images", str(images)]
    rc = main(["det", "train", "--arch", "ssdlite", "--backbone", "emov2_1m", *data, "--output", str(out),
               "--iters", "2", "--batch-size", "3", "--size", "96", "--warmup-iters", "1", "--no-eval-first",
               "--log-interval", "1", "--workers", "0"])
    assert rc == 0
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["kind"] == "train"] == [1, 2] and rows[-1]["kind"] == "eval"
    for f in ("last.pt", "curves.png", "best.safetensors", "best.json", "final.safetensors"):
        assert (out / f).is_file(), f
    for ckpt in ("best.safetensors", "last.pt"):
        assert main(["det", "eval", "--checkpoint", str(out / ckpt), "--val-ann", str(ann), "--val-images",
                     str(images), "--json"]) == 0
        assert "AP50" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["det", "predict", "--checkpoint", str(out / "best.safetensors"), str(images / "0.png"), "--output",
                 str(tmp_path / "pred"), "--score-thresh", "0"]) == 0
    assert (tmp_path / "pred" / "0.png").is_file()


def test_cli_user_errors(tmp_path, rect_coco, capsys):
    images, _, _ = rect_coco
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    rc = main(["det", "train", "--arch", "ssdlite", "--backbone", "emov2_1m", "--train-ann", str(bad),
               "--train-images", str(images), "--val-ann", str(bad), "--val-images", str(images), "--output",
               str(tmp_path / "o"), "--iters", "1"])
    assert rc == 2 and "not valid JSON" in capsys.readouterr().err
    assert main(["det", "eval", "--checkpoint", str(tmp_path / "nope.pt"), "--data", str(tmp_path)]) == 2
