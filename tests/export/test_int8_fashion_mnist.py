"""INT8 against fp32 on Fashion-MNIST with a briefly trained model (docs/benchmarks.md: the trained checkpoint)."""

import pytest
import torch

import emov2
from emov2.export import fashion_mnist as fm
from emov2.export.int8_eval import int8_accuracy


@pytest.mark.skipif(not fm.available(), reason="apt-get install dataset-fashion-mnist")
def test_int8_accuracy_path(tmp_path):
    torch.manual_seed(0)
    images, labels = fm.load_split("train", limit=256)
    model = emov2.create_model("emov2_1m", num_classes=10)
    fm.quick_train(model, fm.to_input(images, 32), labels, epochs=1, batch=32, lr=3e-3)  # 8 steps
    res = int8_accuracy(model, tmp_path, name="fm", img_size=32, test_limit=500, calib_images=64,
                        exporter="torchscript")
    assert res["test_images"] == 500
    assert res["pytorch_fp32"] > 20  # learnt something (chance is 10%)
    assert abs(res["onnx_fp32"] - res["pytorch_fp32"]) <= 0.2 + 1e-9  # at most one image of 500 differs
    assert res["onnx_fp32_agree_fp32"] >= 99.5
    for key in ("onnx_int8_dynamic", "onnx_int8_static"):
        assert 0 <= res[key] <= 100
        assert res[f"{key}_bytes"] < 0.45 * res["onnx_fp32_bytes"]
