"""Montages for docs/dense.md from `emov2 det predict` / `emov2 seg predict` outputs and the ground truth.

usage: python docs/make_dense_figures.py DATA_ROOT DET_PRED_DIR SEG_PRED_DIR OUT_DIR N
"""

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from emov2.detection.data import CocoDetection
from emov2.detection.draw import draw_detections
from emov2.segmentation.draw import palette


def row(images):
    h = max(i.shape[0] for i in images)
    return np.concatenate([np.pad(i, ((0, h - i.shape[0]), (0, 4), (0, 0)), constant_values=255) for i in images], 1)


def main(root, det_dir, seg_dir, out, n):
    root, det_dir, seg_dir, out = map(Path, (root, det_dir, seg_dir, out))
    out.mkdir(parents=True, exist_ok=True)
    ds = CocoDetection(root / "images" / "validation", root / "instances_validation.json")
    gts, dets, segs = [], [], []
    for i in range(n):
        img, t = ds[i]
        name = ds.records[i][1]["file_name"]
        gt = {"boxes": t["boxes"], "labels": t["labels"], "scores": torch.ones(len(t["labels"]))}
        draw_detections(img, gt, ds.class_names, out / "_gt.png", 0.0)
        gts.append(np.asarray(Image.open(out / "_gt.png")))
        if (det_dir / name).is_file():
            dets.append(np.asarray(Image.open(det_dir / name).convert("RGB")))
        if (seg_dir / name).is_file():
            lab = torch.from_numpy(np.asarray(Image.open(root / "annotations" / "validation" / name)).astype(np.int64))
            gt_col = palette(11)[lab].numpy()
            segs.append(np.concatenate([np.asarray(Image.open(seg_dir / name).convert("RGB")), gt_col], 1))
    (out / "_gt.png").unlink()
    Image.fromarray(row(gts)).resize((row(gts).shape[1] * 2, row(gts).shape[0] * 2), Image.NEAREST).save(
        out / "det_ground_truth.png")
    if dets:
        r = row(dets)
        Image.fromarray(r).resize((r.shape[1] * 2, r.shape[0] * 2), Image.NEAREST).save(out / "det_predictions.png")
    if segs:
        r = np.concatenate([np.pad(s, ((0, 4), (0, 0), (0, 0)), constant_values=255) for s in segs], 0)
        Image.fromarray(r).resize((r.shape[1] * 2, r.shape[0] * 2), Image.NEAREST).save(out / "seg_predictions.png")


if __name__ == "__main__":
    main(*sys.argv[1:5], int(sys.argv[5]))
