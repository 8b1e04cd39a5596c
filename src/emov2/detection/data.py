"""COCO-format detection / instance segmentation data (pycocotools) with input checking.

Bad input is handled as follows (the counts are in :attr:`CocoDetection.skipped` and printed by the CLI):

- an annotation file that is missing or does not parse, or lacks ``images``/``annotations``/``categories``:
  ``ValueError`` naming the file;
- a box with non-positive width/height, or with no area left after clipping to the image: skipped
  (``zero_area`` / ``outside``); a box partly outside the image is clipped;
- a ``category_id`` not listed in ``categories``: skipped (``unknown_class``);
- with masks, an RLE/mask whose size differs from the image: skipped (``mask_size``);
- ``iscrowd=1`` annotations are ignored for training (``crowd``), as torchvision's references do.

Labels are contiguous ``1..K`` in the order of sorted category ids (0 is background); ``label_to_cat``
maps them back for COCO evaluation.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors

__all__ = ["CocoDetection", "collate", "load_coco"]


def load_coco(ann_file: str | os.PathLike):
    """A pycocotools ``COCO`` object; unreadable or malformed files raise ``ValueError``/``FileNotFoundError``."""
    from pycocotools.coco import COCO

    ann_file = Path(ann_file)
    if not ann_file.is_file():
        raise FileNotFoundError(f"annotation file not found: {ann_file}")
    try:
        data = json.loads(ann_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{ann_file}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or not all(k in data for k in ("images", "annotations", "categories")):
        raise ValueError(f"{ann_file}: not a COCO instances file (needs images, annotations and categories)")
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            coco.createIndex()
        except (KeyError, TypeError) as e:
            raise ValueError(f"{ann_file}: malformed COCO entry ({e!r})") from None
    return coco


class CocoDetection(torch.utils.data.Dataset):
    """Images and targets in torchvision's detection format.

    Item: ``(image, target)`` with ``image`` a ``tv_tensors.Image`` ``(3, H, W)`` float in 0..1 and ``target``
    ``{"boxes": BoundingBoxes (N, 4) xyxy, "labels": (N,) int64 in 1..K, "image_id": int[, "masks": Mask
    (N, H, W) uint8]}``, after ``transforms`` (a torchvision ``transforms.v2`` callable) if given.
    """

    def __init__(self, image_dir: str | os.PathLike, ann_file: str | os.PathLike, transforms=None,
                 with_masks: bool = False, skip_empty: bool = False) -> None:
        self.image_dir = Path(image_dir)
        if not self.image_dir.is_dir():
            raise FileNotFoundError(f"image folder not found: {self.image_dir}")
        self.coco = load_coco(ann_file)
        self.transforms = transforms
        self.with_masks = with_masks
        cat_ids = sorted(self.coco.cats)
        self.cat_to_label = {c: i + 1 for i, c in enumerate(cat_ids)}
        self.label_to_cat = {i + 1: c for i, c in enumerate(cat_ids)}
        self.class_names = [self.coco.cats[c].get("name", str(c)) for c in cat_ids]
        self.skipped: Counter = Counter()
        self.records = []
        for img_id in sorted(self.coco.imgs):
            info = self.coco.imgs[img_id]
            anns = [a for a in self.coco.imgToAnns.get(img_id, []) if self._keep(a, info)]
            if skip_empty and not anns:
                continue
            self.records.append((img_id, info, anns))

    @property
    def num_classes(self) -> int:
        return len(self.cat_to_label)

    def _keep(self, a: dict, info: dict) -> bool:
        if a.get("iscrowd", 0):
            self.skipped["crowd"] += 1
            return False
        if a.get("category_id") not in self.cat_to_label:
            self.skipped["unknown_class"] += 1
            return False
        try:
            x, y, w, h = (float(v) for v in a["bbox"])
        except (KeyError, TypeError, ValueError):
            self.skipped["bad_bbox"] += 1
            return False
        if w <= 0 or h <= 0:
            self.skipped["zero_area"] += 1
            return False
        W, H = info["width"], info["height"]
        x0, y0, x1, y1 = max(x, 0.0), max(y, 0.0), min(x + w, W), min(y + h, H)
        if x1 <= x0 or y1 <= y0:
            self.skipped["outside"] += 1
            return False
        if x0 != x or y0 != y or x1 != x + w or y1 != y + h:
            self.skipped["clipped"] += 1
        a["_xyxy"] = [x0, y0, x1, y1]
        if self.with_masks:
            seg = a.get("segmentation")
            if isinstance(seg, dict) and list(seg.get("size", [])) != [H, W]:
                self.skipped["mask_size"] += 1
                return False
            if seg is None or seg == []:
                self.skipped["no_mask"] += 1
                return False
        return True

    def __len__(self) -> int:
        return len(self.records)

    def load_image(self, info: dict) -> Image.Image:
        path = self.image_dir / info["file_name"]
        if not path.is_file():
            raise FileNotFoundError(f"image not found: {path}")
        img = Image.open(path).convert("RGB")
        if img.size != (info["width"], info["height"]):
            raise ValueError(f"{path}: size {img.size} differs from the annotation's {info['width']}x{info['height']}")
        return img

    def __getitem__(self, idx: int):
        img_id, info, anns = self.records[idx]
        img = self.load_image(info)
        H, W = info["height"], info["width"]
        image = tv_tensors.Image(torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255.0)
        boxes = torch.tensor([a["_xyxy"] for a in anns], dtype=torch.float32).reshape(-1, 4)
        target = {
            "boxes": tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(H, W)),
            "labels": torch.tensor([self.cat_to_label[a["category_id"]] for a in anns], dtype=torch.int64),
            "image_id": img_id,
        }
        if self.with_masks:
            masks = np.stack([self.coco.annToMask(a) for a in anns]) if anns else np.zeros((0, H, W), np.uint8)
            target["masks"] = tv_tensors.Mask(torch.from_numpy(masks))
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target


def collate(batch):
    """Lists of images and targets (torchvision detection models take lists)."""
    return tuple(zip(*batch, strict=False))
