"""Figures for docs/dense.md's retina runs: the validation region of skimage's fundus photo with each model's vessel
map against the pseudo-labels, and both models' curves.

usage: python docs/make_retina_figures.py DATA_ROOT OUT_DIR NAME=RUN_DIR [NAME=RUN_DIR ...]

DATA_ROOT is ``emov2 data make-retina``'s output; each RUN_DIR is an ``emov2 seg train --arch unet`` output
(its ``best.safetensors`` and ``metrics.jsonl``). Writes OUT_DIR/retina_predictions.png (one row per model:
vessels over the photo | agreement with the pseudo-labels, white both, red predicted only, blue missed) and
OUT_DIR/retina_curves.png (training loss, validation mDice and vessel Dice).
"""

import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from emov2.artifacts import load_artifact  # noqa: E402
from emov2.data.images import read_rgb_tensor  # noqa: E402
from emov2.engine.metrics import plot_runs  # noqa: E402
from emov2.segmentation.draw import draw_vessels  # noqa: E402
from emov2.segmentation.engine import predict_logits  # noqa: E402
from emov2.segmentation.transforms import SegEval  # noqa: E402

TILE = re.compile(r"_y(\d+)_x(\d+)$")


def mosaic(root: Path):
    """The validation tiles stitched back at their places: image (3, H, W), labels (H, W) with 255 off the tiles."""
    files = sorted((root / "images" / "validation").glob("*.png"))
    pos = [tuple(int(v) for v in TILE.search(f.stem).groups()) for f in files]
    t = read_rgb_tensor(files[0]).shape[-1]
    y0, x0 = min(p[0] for p in pos), min(p[1] for p in pos)
    h, w = max(p[0] for p in pos) - y0 + t, max(p[1] for p in pos) - x0 + t
    image, label = torch.ones(3, h, w), torch.full((h, w), 255, dtype=torch.long)
    for f, (y, x) in zip(files, pos, strict=True):
        image[:, y - y0:y - y0 + t, x - x0:x - x0 + t] = read_rgb_tensor(f)
        lab = np.asarray(Image.open(root / "annotations" / "validation" / f.name))
        label[y - y0:y - y0 + t, x - x0:x - x0 + t] = torch.from_numpy(lab.astype(np.int64))
    return files, pos, (y0, x0, t), image, label


def predict_mosaic(ckpt: Path, files, pos, geom, shape):
    model, info = load_artifact(ckpt, task="seg")
    prep, slide = SegEval(tuple(info["scale"])), tuple(info["slide"]) if info.get("slide") else None
    y0, x0, t = geom
    pred = torch.zeros(shape, dtype=torch.long)
    for f, (y, x) in zip(files, pos, strict=True):
        img = read_rgb_tensor(f)
        xin, _ = prep(img, None)
        with torch.no_grad():
            logits = predict_logits(model, xin, tuple(img.shape[1:]), slide)
        pred[y - y0:y - y0 + t, x - x0:x - x0 + t] = logits.argmax(0)
    return pred


def main(root: str, out: str, *runs_spec: str) -> None:
    root_p, out_p = Path(root), Path(out)
    out_p.mkdir(parents=True, exist_ok=True)
    runs = dict(spec.split("=", 1) for spec in runs_spec)
    runs = {k: Path(v) for k, v in runs.items()}
    files, pos, geom, image, label = mosaic(root_p)
    panels = []
    for name, run in runs.items():
        pred = predict_mosaic(run / "best.safetensors", files, pos, geom, label.shape)
        draw_vessels(image, pred, out_p / "_row.png", label=label)
        row = np.asarray(Image.open(out_p / "_row.png").convert("RGB"))
        bar = np.full((30, row.shape[1], 3), 255, np.uint8)
        panels += [bar, row]
        print(f"{name}: {int((pred == 1).sum())} vessel pixels predicted, {int((label == 1).sum())} labelled")
    (out_p / "_row.png").unlink()
    fig_h = sum(p.shape[0] for p in panels)
    fig = plt.figure(figsize=(panels[1].shape[1] / 100, fig_h / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(np.concatenate(panels, 0))
    ax.axis("off")
    y = 0
    for name, (bar, row) in zip(runs, zip(panels[::2], panels[1::2], strict=True), strict=True):
        ax.text(4, y + 22, f"{name}: vessels over the photo | vs pseudo-labels (white both, red extra, blue missed)",
                fontsize=15)
        y += bar.shape[0] + row.shape[0]
    fig.savefig(out_p / "retina_predictions.png", dpi=60)  # 0.6 x the mosaic: a readable, smaller PNG
    plot_runs(list(runs.values()), out_p / "retina_curves.png", list(runs), metrics=("mDice", "Dice.vessel"),
              title="retina pseudo-labels (thresholded vesselness, not manual annotations)", chance=False)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
