"""Data loading: IDX reader, Fashion-MNIST resizing/scaling (the geometry of `emov2 train`), dataset dispatch."""

from __future__ import annotations

import pytest
import torch

from emov2.data.fashion_mnist import find_fashion_mnist, load_fashion_mnist
from emov2.data.tensor_loader import resize_uint8
from emov2.generation.data import fashion_mnist, load_dataset
from emov2.generation.sampling import to_uint8


def test_synthetic_idx_folder(idx_folder):
    ds, num_classes = load_dataset(str(idx_folder), 32, 1)
    x, y = ds.tensors
    assert num_classes == 10 and x.shape == (64, 1, 32, 32) and y.dtype == torch.int64
    assert x.min() == -1 and x.max() == 1
    # the classifier's geometry: 28 -> 32 px as `emov2 train` resizes (no border); uint8 round trip is exact
    raw, _ = load_fashion_mnist("train", idx_folder)
    assert torch.equal(to_uint8(x)[:, 0], resize_uint8(raw, 32))
    native, _ = load_dataset(str(idx_folder), 28, 1)
    assert torch.equal(to_uint8(native.tensors[0])[:, 0], raw)
    small, _ = load_dataset(str(idx_folder), 16, 1, split="test", limit=5)
    assert small.tensors[0].shape == (5, 1, 16, 16)


def test_missing_data_is_a_user_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_dataset(str(tmp_path / "nope"), 32, 1)


@pytest.mark.skipif(find_fashion_mnist() is None, reason="dataset-fashion-mnist is not installed")
def test_real_fashion_mnist():
    x, y = fashion_mnist(split="test").tensors
    assert y.shape == (10000,) and set(y.tolist()) == set(range(10))
    x, y = fashion_mnist(split="test", limit=16).tensors
    assert x.shape == (16, 1, 32, 32) and -1 <= x.min() and x.max() <= 1
