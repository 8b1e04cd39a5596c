"""INT8 against fp32 on Fashion-MNIST: top-1 of PyTorch fp32, ONNX fp32 and ONNX int8 (dynamic and static QDQ), and
ExecuTorch XNNPACK fp32 and PT2E static INT8 (when the mobile extra is installed), of a trained 10-class model, on
inputs preprocessed as the trainer does (:func:`fashion_mnist_inputs`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data.fashion_mnist import FASHION_MNIST_MEAN, FASHION_MNIST_STD, fashion_mnist_inputs
from ..export.check import ort_runner
from ..export.executorch import executorch_available, export_pte, padded_windows, pte_runner
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
    mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD, exporter: str = "auto", pte: bool = True, log=None,
) -> dict:
    """Export ``model`` and measure each file's top-1 on the test split (and its agreement with fp32).

    Calibration for the static int8 models (ONNX QDQ, ExecuTorch PT2E) uses ``calib_images`` images from the *train*
    split. ``pte``: also the ExecuTorch files (``.pte`` run image by image, batch 1); where ExecuTorch is missing or
    refuses the model (padded attention windows), ``pte_skipped`` says why and the ONNX results stand.
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
    runs = {key: ort_runner(path) for key, path in files.items()}
    note = {}
    if pte:
        files_pte, reason = _pte_files(model, out, name, img_size, torch.from_numpy(calib), log)
        if reason:
            note["pte_skipped"] = reason
        for key, path in files_pte.items():
            files[key] = path
            runs[key] = _per_image(pte_runner(path))

    def torch_run(t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(t)

    result = {"test_images": len(labels), "img_size": img_size, "exporter": exporter_used,
              "pytorch_fp32": top1(torch_run, x, labels), **note}
    ref = torch_run(x[:256]).numpy()
    for key, path in files.items():
        run = runs[key]
        if log:
            log(f"scoring {key} on {len(labels)} test images")
        result[key] = top1(run, x, labels)
        result[f"{key}_bytes"] = os.path.getsize(path)
        pred = np.asarray(run(x[:256])).argmax(1)
        result[f"{key}_agree_fp32"] = float((pred == ref.argmax(1)).mean() * 100)
    return result


def _per_image(run):
    """A batch-1 runner applied image by image: (N, 3, H, W) -> (N, classes) logits."""
    def run_batch(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([run(x[i:i + 1]) for i in range(len(x))])

    return run_batch


def _pte_files(model: nn.Module, out: Path, name: str, img_size: int, calib: torch.Tensor, log
               ) -> tuple[dict[str, Path], str | None]:
    """ExecuTorch fp32 and PT2E INT8 ``.pte`` files (batch 1), or why they cannot be made here."""
    reason = executorch_available()
    padded = [] if reason else padded_windows(model, img_size)
    if padded:
        reason = (f"ExecuTorch 1.5.1's XNNPACK delegate crashes on padded attention windows ({padded[0]}) at "
                  f"{img_size} px")
    if reason:
        if log:
            log(f"no .pte: {reason}")
        return {}, reason
    if log:
        log("lowering to ExecuTorch XNNPACK: fp32, then PT2E INT8")
    fp32 = export_pte(model, out / f"{name}_fp32.pte", img_size)
    int8 = export_pte(model, out / f"{name}_int8.pte", img_size, calibration=[calib])
    return {"pte_fp32": fp32, "pte_int8": int8}, None
