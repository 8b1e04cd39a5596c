"""A tiny synthetic COCO set (coloured rectangles, no downloads) shared by the detection tests."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

torch.set_num_threads(2)


def write_rect_coco(root, n=6, size=64, seed=0):
    """``n`` images of ``size`` px with 1-2 filled rectangles of 2 classes (ids 3 and 7); RLE masks."""
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    coco = {"images": [], "annotations": [], "categories": [{"id": 3, "name": "red"}, {"id": 7, "name": "green"}]}
    aid = 1
    for i in range(n):
        img = np.full((size, size, 3), 30, np.uint8)
        for k in range(1 + i % 2):
            w, h = int(rng.integers(16, 28)), int(rng.integers(16, 28))
            x, y = (4, 4) if k == 0 else (size - w - 4, size - h - 4)
            cat = 3 if (i + k) % 2 == 0 else 7
            img[y:y + h, x:x + w] = (220, 40, 40) if cat == 3 else (40, 220, 40)
            m = np.zeros((size, size), np.uint8)
            m[y:y + h, x:x + w] = 1
            rle = mask_utils.encode(np.asfortranarray(m))
            coco["annotations"].append({"id": aid, "image_id": i + 1, "category_id": cat, "bbox": [x, y, w, h],
                                        "area": w * h, "iscrowd": 0,
                                        "segmentation": {"size": [size, size], "counts": rle["counts"].decode()}})
            aid += 1
        Image.fromarray(img).save(root / "images" / f"{i}.png")
        coco["images"].append({"id": i + 1, "file_name": f"{i}.png", "width": size, "height": size})
    (root / "ann.json").write_text(json.dumps(coco))
    return root / "images", root / "ann.json", coco


@pytest.fixture(scope="session")
def rect_coco(tmp_path_factory):
    return write_rect_coco(tmp_path_factory.mktemp("rect_coco"))
