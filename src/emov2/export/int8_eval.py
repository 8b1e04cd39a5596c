"""INT8 against fp32 on Fashion-MNIST: top-1 of PyTorch fp32, ONNX fp32, ONNX int8 (dynamic and static QDQ)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .check import ort_runner
from .fashion_mnist import load_split, to_input, top1
from .onnx import export_onnx
from .quantize import quantize_onnx

__all__ = ["int8_accuracy"]


def int8_accuracy(
    model: nn.Module, out_dir: str | os.PathLike, *, name: str = "model", img_size: int = 32,
    root: str | os.PathLike | None = None, test_limit: int | None = 2000, calib_images: int = 256,
    mean: float | None = None, std: float | None = None, exporter: str = "auto",
) -> dict:
    """Export ``model`` (10 classes, trained on Fashion-MNIST) and measure each file's top-1 on the test split.

    Calibration for the static int8 model uses ``calib_images`` images from the *train* split.
    """
    from . import fashion_mnist as fm

    kw = dict(root=root)
    norm = dict(mean=fm.FMNIST_MEAN if mean is None else mean, std=fm.FMNIST_STD if std is None else std)
    images, labels = load_split("test", limit=test_limit, **kw)
    x = to_input(images, img_size, **norm)
    calib_imgs, _ = load_split("train", limit=calib_images, seed=1, **kw)
    calib = to_input(calib_imgs, img_size, **norm).numpy()
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
