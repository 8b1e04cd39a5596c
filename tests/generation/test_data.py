"""Data loading: IDX reader, Fashion-MNIST padding/scaling, dataset dispatch."""

from __future__ import annotations

import pytest
import torch

from emov2.data.fashion_mnist import find_fashion_mnist
from emov2.generation.data import fashion_mnist, load_dataset


def test_synthetic_idx_folder(idx_folder):
    ds, num_classes = load_dataset(str(idx_folder), 32, 1)
    x, y = ds.tensors
    assert num_classes == 10 and x.shape == (64, 1, 32, 32) and y.dtype == torch.int64
    assert x.min() == -1 and x.max() == 1
    assert (x[:, :, :2] == -1).all() and (x[:, :, -2:] == -1).all()  # 2 px black border from 28 -> 32
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
