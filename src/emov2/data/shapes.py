"""Generated detection/segmentation data: real Fashion-MNIST objects pasted onto larger canvases.

Each object is a Fashion-MNIST image scaled to 28-``max_obj`` px, tinted with a random colour and pasted at a
free place (objects do not overlap) on a smooth random-colour background with noise. Its instance mask is
the set of pixels brighter than ``MASK_THRESHOLD`` in the scaled image. Written in two layouts at once::

    root/images/{training,validation}/000000.png        RGB canvases
    root/annotations/{training,validation}/000000.png   semantic labels: 0 background, k + 1 for class k
    root/instances_{training,validation}.json           COCO: boxes (xywh), RLE masks, area, iscrowd 0

so the COCO detection reader and the ADE20K-layout segmentation reader (``reduce_zero_label=False``,
11 classes with background) both read it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from .fashion_mnist import FASHION_MNIST_CLASSES as CLASSES
from .fashion_mnist import load_fashion_mnist

__all__ = ["MASK_THRESHOLD", "make_shapes"]

MASK_THRESHOLD = 40


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth two-colour gradient plus Gaussian noise, ``(size, size, 3)`` float in 0..255."""
    a, b = rng.uniform(0, 120, 3), rng.uniform(0, 120, 3)
    t = np.linspace(0, 1, size)[:, None, None]
    if rng.random() < 0.5:
        t = t.transpose(1, 0, 2)
    bg = a * (1 - t) + b * t
    return np.clip(bg + rng.normal(0, 8, (size, size, 3)), 0, 255)


def _paste(rng, canvas, sem, obj, cls, boxes) -> dict | None:
    """Paste one scaled object at a random free place; returns its annotation (full-canvas mask) or None."""
    size = canvas.shape[0]
    h, w = obj.shape
    for _ in range(20):
        y, x = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
        if all(x + w <= bx or bx + bw <= x or y + h <= by or by + bh <= y for bx, by, bw, bh in boxes):
            break
    else:
        return None
    m = obj > MASK_THRESHOLD
    if m.sum() < 16:
        return None
    colour = rng.uniform(120, 255, 3)
    alpha = (obj.astype(np.float32) / 255.0)[..., None]
    region = canvas[y: y + h, x: x + w]
    canvas[y: y + h, x: x + w] = region * (1 - alpha) + colour * alpha
    sem[y: y + h, x: x + w][m] = cls + 1
    ys, xs = np.nonzero(m)
    box = [x + int(xs.min()), y + int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
    mask = np.zeros((size, size), np.uint8)
    mask[y: y + h, x: x + w] = m
    boxes.append((x, y, w, h))
    return {"bbox": box, "mask": mask, "cls": cls}


def _split(rng, images, labels, n, size, max_objects, max_obj, root: Path, name: str, cat_ids) -> dict:
    from pycocotools import mask as mask_utils

    (root / "images" / name).mkdir(parents=True, exist_ok=True)
    (root / "annotations" / name).mkdir(parents=True, exist_ok=True)
    coco = {"images": [], "annotations": [], "categories": [
        {"id": cid, "name": c, "supercategory": "fashion"} for cid, c in zip(cat_ids, CLASSES, strict=False)]}
    ann_id = 1
    for i in range(n):
        canvas, sem, boxes = _background(rng, size), np.zeros((size, size), np.uint8), []
        for _ in range(int(rng.integers(1, max_objects + 1))):
            j = int(rng.integers(len(images)))
            side = int(rng.integers(28, max_obj + 1))
            obj = np.asarray(Image.fromarray(images[j]).resize((side, side), Image.BILINEAR))
            ann = _paste(rng, canvas, sem, obj, int(labels[j]), boxes)
            if ann is None:
                continue
            rle = mask_utils.encode(np.asfortranarray(ann["mask"]))
            coco["annotations"].append({
                "id": ann_id, "image_id": i + 1, "category_id": cat_ids[ann["cls"]], "bbox": ann["bbox"],
                "area": int(ann["mask"].sum()), "iscrowd": 0,
                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")},
            })
            ann_id += 1
        fname = f"{i:06d}.png"
        Image.fromarray(canvas.astype(np.uint8)).save(root / "images" / name / fname)
        Image.fromarray(sem).save(root / "annotations" / name / fname)
        coco["images"].append({"id": i + 1, "file_name": fname, "width": size, "height": size})
    path = root / f"instances_{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(coco))
    os.replace(tmp, path)
    return {"images": n, "objects": len(coco["annotations"])}


def make_shapes(
    root: str | os.PathLike,
    num_train: int = 512,
    num_val: int = 128,
    size: int = 128,
    max_objects: int = 4,
    max_obj: int = 64,
    seed: int = 0,
    fashion_root: str | os.PathLike | None = None,
) -> dict[str, dict]:
    """Write the generated data set under ``root``; returns counts per split.

    Training objects come from Fashion-MNIST's train split, validation objects from ``t10k``, so the
    validation set holds unseen objects. Category ids are 1..10 (COCO style, id = Fashion-MNIST label + 1).
    """
    if size < max_obj or max_obj < 28:
        raise ValueError(f"need 28 <= max_obj <= size, got max_obj={max_obj}, size={size}")
    if num_train < 1 or num_val < 0 or max_objects < 1:
        raise ValueError("num_train must be >= 1, num_val >= 0 and max_objects >= 1")
    root = Path(root)
    rng = np.random.default_rng(seed)
    cat_ids = list(range(1, len(CLASSES) + 1))
    out = {}
    for name, split, n in (("training", "train", num_train), ("validation", "test", num_val)):
        images, labels = (t.numpy() for t in load_fashion_mnist(split, fashion_root))
        out[name] = _split(rng, images, labels, n, size, max_objects, max_obj, root, name, cat_ids)
    return out
