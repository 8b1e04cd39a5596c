"""The embedded Fashion-MNIST set (Debian dataset-fashion-mnist); skipped when it is not installed."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import torch

from emov2.data.fashion_mnist import FASHION_MNIST_CLASSES, _read_idx, find_fashion_mnist, load_fashion_mnist


@pytest.mark.skipif(find_fashion_mnist() is None, reason="dataset-fashion-mnist is not installed")
def test_load_both_splits() -> None:
    xtr, ytr = load_fashion_mnist("train")
    xte, yte = load_fashion_mnist("test")
    assert xtr.shape == (60000, 28, 28) and xte.shape == (10000, 28, 28) and xtr.dtype == torch.uint8
    assert torch.equal(torch.bincount(yte), torch.full((10,), 1000))
    assert torch.equal(torch.bincount(ytr), torch.full((10,), 6000))
    assert len(FASHION_MNIST_CLASSES) == 10


def test_missing_dataset_message(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train", root=tmp_path)


def test_truncated_idx_file(tmp_path: Path) -> None:
    header = bytes([0, 0, 8, 3]) + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    p = tmp_path / "x-idx3-ubyte.gz"
    with gzip.open(p, "wb") as f:
        f.write(header + bytes(100))
    with pytest.raises(ValueError, match="truncated"):
        _read_idx(p)
