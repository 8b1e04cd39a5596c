"""INT8 against fp32 on Fashion-MNIST: top-1 of PyTorch fp32, ONNX fp32 and ONNX int8 (dynamic and static QDQ)
of a trained 10-class model, on inputs preprocessed as the trainer does (:func:`fashion_mnist_inputs`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data.fashion_mnist import FASHION_MNIST_MEAN, FASHION_MNIST_STD, fashion_mnist_inputs
from ..export.check import ort_runner
from ..export.onnx import export_onnx
from ..export.quantize import quantize_onnx

__all__ = ["int8_accuracy", "top1"]


def top1(run, x: torch.Tensor, labels: torch.Tensor, batch: int = 256) -> float:
    """Top-1 (%) of ``run`` (tensor -> logits as tensor or array) over ``x``."""
    correct = 0
    for i in range(0, len(x), batch):
        out = run(x[i:i + batch])
        pred = np.asarray(out.detach() if isinstance(out, torch.Tensor) else out).argmax(1)
        correct += int((pred == labels[i:i + batch].numpy()).sum())
    return 100.0 * correct / len(x)


def int8_accuracy(
    model: nn.Module, out_dir: str | os.PathLike, *, name: str = "model", img_size: int = 32,
    root: str | os.PathLike | None = None, test_limit: int | None = 2000, calib_images: int = 256,
    mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD, exporter: str = "auto",
) -> dict:
    """Export ``model`` and measure each file's top-1 on the test split (and its agreement with fp32).

    Calibration for the static int8 model uses ``calib_images`` images from the *train* split.
    """
    x, labels = fashion_mnist_inputs("test", img_size, mean, std, limit=test_limit, root=root)
    calib, _ = fashion_mnist_inputs("train", img_size, mean, std, limit=calib_images, seed=1, root=root)
    calib = calib.numpy()
    out = Path(out_dir)
    fp32 = out / f"{name}_fp32.onnx"
    exporter_used = export_onnx(model, fp32, img_size=img_size, dynamic_batch=True, exporter=exporter)
    files = {
        "onnx_fp32": fp32,
        "onnx_int8_dynamic": quantize_onnx(fp32, out / f"{name}_int8_dynamic.onnx", "int8-dynamic"),
        "onnx_int8_static": quantize_onnx(fp32, out / f"{name}_int8_static.onnx", "int8-static",
                                          calibration=(calib[i:i + 32] for i in range(0, len(calib), 32))),
    }
    model = model.eval()

    def torch_run(t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(t)

    result = {"test_images": len(labels), "img_size": img_size, "exporter": exporter_used,
              "pytorch_fp32": top1(torch_run, x, labels)}
    ref = torch_run(x[:256]).numpy()
    for key, path in files.items():
        run = ort_runner(path)
        result[key] = top1(run, x, labels)
        result[f"{key}_bytes"] = os.path.getsize(path)
        pred = np.asarray(run(x[:256])).argmax(1)
        result[f"{key}_agree_fp32"] = float((pred == ref.argmax(1)).mean() * 100)
    return result
