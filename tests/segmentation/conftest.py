"""A tiny ADE20K-layout set (rectangles on a background, labels 0..2) for the segmentation tests."""

import numpy as np
import pytest
import torch
from PIL import Image

torch.set_num_threads(2)


def write_rect_ade(root, n=4, size=64, seed=0):
    rng = np.random.default_rng(seed)
    for split in ("training", "validation"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "annotations" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            img = np.full((size, size + 16, 3), 40, np.uint8)
            lab = np.zeros((size, size + 16), np.uint8)
            x, y = int(rng.integers(0, 24)), int(rng.integers(0, 24))
            img[y:y + 30, x:x + 30] = (200, 50, 50)
            lab[y:y + 30, x:x + 30] = 1
            img[-16:, -20:] = (50, 200, 50)
            lab[-16:, -20:] = 2
            Image.fromarray(img).save(root / "images" / split / f"{i}.png")
            Image.fromarray(lab).save(root / "annotations" / split / f"{i}.png")
    return root


@pytest.fixture(scope="session")
def rect_ade(tmp_path_factory):
    return write_rect_ade(tmp_path_factory.mktemp("rect_ade"))
