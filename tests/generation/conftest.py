"""Fixtures for the generation tests: a synthetic Fashion-MNIST-format IDX folder (no dataset needed)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="session")
def idx_folder(tmp_path_factory) -> Path:
    """64 train / 32 test 28x28 images of 10 classes: class k is a bright bar at row 2k."""
    root = tmp_path_factory.mktemp("idx")
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 64), ("t10k", 32)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 30, size=(n, 28, 28))
        for i, k in enumerate(labels):
            images[i, 2 * k + 4: 2 * k + 7, 4:24] = 255
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return root


@pytest.fixture(autouse=True)
def _one_thread():
    """Two shared cores: one thread avoids oversubscription and keeps timings stable."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def classifier_artifact(tmp_path_factory):
    """(best.safetensors path, model): a random emov2_1m written as `emov2 train` writes its best weights, for
    Fashion-MNIST (grey as RGB, 32 px, window 2). Layer scales are set to 1 so that features depend on the image
    (at their 1e-6 initialisation the first blocks of a stage pass almost nothing on)."""
    from emov2.engine.artifact import write_artifact
    from emov2.models import create_model

    torch.manual_seed(0)
    model = create_model("emov2_1m", num_classes=10, window_size=2).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_scale" in name:
                p.fill_(1.0)
    path = tmp_path_factory.mktemp("clf") / "best.safetensors"
    info = dict(task="cls", arch="emov2_1m", variant="emov2_1m", model_kwargs={"num_classes": 10, "window_size": 2},
                num_classes=10, classes=[str(i) for i in range(10)], img_size=32,
                mean=[0.286] * 3, std=[0.353] * 3, grayscale=True, window_size=2, resize_only=True,
                metrics={"top1": 88.3})
    write_artifact(model.state_dict(), path, info)
    return path, model
