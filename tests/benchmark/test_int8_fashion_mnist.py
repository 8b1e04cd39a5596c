"""INT8 against fp32 on Fashion-MNIST, with a classifier trained by `emov2 train` (the engine) for a minute."""

import pytest

from emov2.benchmark.int8_eval import int8_accuracy
from emov2.data.fashion_mnist import find_fashion_mnist
from emov2.export.api import load_model

pytestmark = pytest.mark.skipif(find_fashion_mnist() is None, reason="apt-get install dataset-fashion-mnist")


@pytest.fixture(scope="module")
def fmnist_artifact(tmp_path_factory):
    from emov2.cli.main import main

    out = tmp_path_factory.mktemp("fm") / "run"
    assert main(["train", "--data", "fashion-mnist", "--output", str(out), "--model", "emov2_1m", "--img-size", "32",
                 "--window-size", "2", "--max-train-samples", "3072", "--epochs", "2", "--batch-size", "64",
                 "--threads", "1", "--no-progress", "--val-holdout", "500", "--eval-interval", "2"]) == 0
    return out / "best.safetensors"


def test_int8_matches_fp32(fmnist_artifact, tmp_path):
    model = load_model(None, fmnist_artifact)
    res = int8_accuracy(model, tmp_path, name="fm", img_size=32, test_limit=500, calib_images=128,
                        exporter="torchscript")
    assert res["test_images"] == 500
    assert res["pytorch_fp32"] > 55  # it learnt (chance is 10%)
    assert abs(res["onnx_fp32"] - res["pytorch_fp32"]) <= 0.2 + 1e-9  # at most one image of 500 differs
    assert res["onnx_fp32_agree_fp32"] >= 99.5
    for key in ("onnx_int8_dynamic", "onnx_int8_static"):
        # quantisation costs a little accuracy, not the model: a broken scale or calibration falls far below
        assert res[key] >= res["pytorch_fp32"] - 5.0, (key, res)
        assert res[f"{key}_agree_fp32"] >= 85.0, (key, res)
        assert res[f"{key}_bytes"] < 0.45 * res["onnx_fp32_bytes"]
