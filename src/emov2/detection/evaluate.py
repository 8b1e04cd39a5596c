"""COCO box / mask mAP of a torchvision detector on a :class:`CocoDetection` set, via pycocotools."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import torch
from torch import nn

from .data import CocoDetection

__all__ = ["STAT_NAMES", "coco_metrics", "predict_dataset"]

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl")


@torch.no_grad()
def predict_dataset(model: nn.Module, dataset: CocoDetection, batch_size: int = 8, limit: int | None = None) -> list:
    """COCO result dicts (``image_id``, ``category_id``, ``bbox`` xywh, ``score``[, ``segmentation`` RLE])."""
    from pycocotools import mask as mask_utils

    model.eval()
    results = []
    n = len(dataset) if limit is None else min(limit, len(dataset))
    for start in range(0, n, batch_size):
        items = [dataset[i] for i in range(start, min(n, start + batch_size))]
        outputs = model([im for im, _ in items])
        for (_, target), out in zip(items, outputs, strict=False):
            boxes = out["boxes"].cpu().numpy()
            xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1) if len(boxes) else boxes
            masks = out.get("masks")
            for k in range(len(boxes)):
                r = {"image_id": int(target["image_id"]), "category_id": dataset.label_to_cat[int(out["labels"][k])],
                     "bbox": [round(float(v), 2) for v in xywh[k]], "score": float(out["scores"][k])}
                if masks is not None:
                    m = (masks[k, 0] > 0.5).cpu().numpy().astype(np.uint8)
                    rle = mask_utils.encode(np.asfortranarray(m))
                    r["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
                results.append(r)
    return results


def coco_metrics(dataset: CocoDetection, results: list, iou_types: tuple[str, ...] = ("bbox",),
                 image_ids: list[int] | None = None) -> dict[str, float]:
    """pycocotools COCOeval summary: ``AP, AP50, AP75, APs, APm, APl`` (prefixed ``mask_`` for ``segm``), in %.

    With no detections at all every value is 0.0 (pycocotools cannot load an empty result list).
    """
    from pycocotools.cocoeval import COCOeval

    out: dict[str, float] = {}
    ids = image_ids if image_ids is not None else [r[0] for r in dataset.records]
    for iou_type in iou_types:
        prefix = "" if iou_type == "bbox" else "mask_"
        if not results:
            out.update({prefix + k: 0.0 for k in STAT_NAMES})
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            dt = dataset.coco.loadRes([dict(r) for r in results])
            ev = COCOeval(dataset.coco, dt, iou_type)
            ev.params.imgIds = ids
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        stats = zip(STAT_NAMES, ev.stats[:6], strict=True)
        out.update({prefix + k: round(100 * max(0.0, float(v)), 2) for k, v in stats})
    return out
