"""An offline vessel set with **pseudo-labels**: tiles of scikit-image's CC0 fundus photo ``skimage.data.retina()``.

No retinal vessel data set ships in any package, so the labels here are not manual: they are a thresholded
vesselness filter, and every number measured on them is agreement with that filter, not vessel accuracy.

Pseudo-label recipe (:func:`retina_pseudo_labels`), on the 1411 x 1411 photo:
1. field of view = pixels whose brightest channel exceeds 20, largest connected region, holes filled;
2. green channel (the vessels' best contrast), CLAHE (``equalize_adapthist``, clip 0.01);
3. Sato tubeness (``skimage.filters.sato``, sigmas 1, 2, 3, dark ridges), zeroed outside the FOV eroded by
   10 px (the FOV rim is a strong edge, not a vessel);
4. vessel = tubeness above its 88th percentile inside the FOV (so about 11 % of the FOV is vessel), connected
   pieces of 150 pixels or fewer removed.

Split by region, so no validation pixel is in a training tile: the photo is cut into ``tile x tile`` tiles; rows of
tiles in the upper ~55 % train, then ``gap`` rows are left out, the rows below validate (the vessel arcades above
and below the optic disc are mirror images, so both parts hold thick and thin vessels). Tiles with less than
25 % field of view are dropped. Written in the HRF layout of :mod:`emov2.segmentation.hrf` (+ FOV masks).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["make_retina", "retina_pseudo_labels", "retina_split"]

SATO_SIGMAS = (1, 2, 3)
PERCENTILE = 88.0
MIN_OBJECT = 150
RIM = 10


def retina_pseudo_labels(image: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(image (H, W, 3) uint8, vessels (H, W) bool, fov (H, W) bool, threshold)`` for ``image`` (default
    ``skimage.data.retina()``), by the recipe in the module docstring."""
    from scipy import ndimage
    from skimage import data, exposure, filters, morphology

    image = data.retina() if image is None else image
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB photo, got shape {image.shape}")
    fov = image.max(axis=2) > 20
    regions, n = ndimage.label(fov)
    if n == 0:
        raise ValueError("no field of view found (the photo is black)")
    fov = ndimage.binary_fill_holes(regions == 1 + np.argmax(np.bincount(regions.ravel())[1:]))
    inner = morphology.erosion(fov, morphology.disk(RIM))
    green = exposure.equalize_adapthist(image[..., 1], clip_limit=0.01)
    tube = filters.sato(green, sigmas=SATO_SIGMAS, black_ridges=True)
    tube[~inner] = 0
    threshold = float(np.percentile(tube[fov], PERCENTILE))
    vessels = morphology.remove_small_objects(tube > threshold, max_size=MIN_OBJECT)
    return image, vessels, fov, threshold


def retina_split(height: int, width: int, tile: int, gap: int = 1,
                 train_fraction: float = 0.55) -> dict[str, list[tuple[int, int]]]:
    """Top-left corners ``(y, x)`` of the training and validation tiles: tile rows ``< round(rows *
    train_fraction)`` train, the next ``gap`` rows are skipped, the rest validate."""
    rows, cols = height // tile, width // tile
    n_train = round(rows * train_fraction)
    if gap < 1 or n_train < 1 or n_train + gap >= rows:
        raise ValueError(f"tile {tile} with gap {gap} leaves no training or validation rows in {height} px")
    grid = {"training": range(n_train), "validation": range(n_train + gap, rows)}
    return {split: [(r * tile, c * tile) for r in rs for c in range(cols)] for split, rs in grid.items()}


def make_retina(out: str | os.PathLike, tile: int = 128, gap: int = 1, min_fov: float = 0.25,
                figure: str | os.PathLike | None = None) -> dict[str, int]:
    """Write the pseudo-labelled tiles to ``out`` (HRF layout + ``fov/`` + ``pseudo_labels.json``); optionally a
    PNG ``figure`` of the whole photo with the pseudo-labels and the tiles of each split. Returns tiles per split."""
    if tile < 16 or tile % 16:
        raise ValueError(f"tile must be a positive multiple of 16 (the UNet's input divisor), got {tile}")
    out = Path(out)
    image, vessels, fov, threshold = retina_pseudo_labels()
    split = retina_split(*vessels.shape, tile, gap)
    kept: dict[str, list[tuple[int, int]]] = {}
    for name, corners in split.items():
        kept[name] = []
        for d in ("images", "annotations", "fov"):
            (out / d / name).mkdir(parents=True, exist_ok=True)
        for y, x in corners:
            window = (slice(y, y + tile), slice(x, x + tile))
            if fov[window].mean() < min_fov:
                continue
            stem = f"retina_y{y:04d}_x{x:04d}"
            Image.fromarray(image[window]).save(out / "images" / name / f"{stem}.png")
            Image.fromarray(vessels[window].astype(np.uint8)).save(out / "annotations" / name / f"{stem}.png")
            Image.fromarray(fov[window].astype(np.uint8)).save(out / "fov" / name / f"{stem}.png")
            kept[name].append((y, x))
    meta = dict(
        labels="pseudo-labels: thresholded Sato vesselness, not manual annotations",
        source="skimage.data.retina() (CC0)", classes=["background", "vessel"],
        recipe=dict(channel="green", clahe_clip=0.01, filter="skimage.filters.sato", sigmas=list(SATO_SIGMAS),
                    percentile_in_fov=PERCENTILE, threshold=threshold, min_object_px=MIN_OBJECT, fov_rim_px=RIM),
        vessel_fraction_in_fov=round(float(vessels[fov].mean()), 4), tile=tile, gap_rows=gap, min_fov=min_fov,
        tiles={k: [list(c) for c in v] for k, v in kept.items()},
    )
    (out / "pseudo_labels.json").write_text(json.dumps(meta, indent=1))
    if figure is not None:
        draw_split_figure(image, vessels, kept, tile, figure)
    return {k: len(v) for k, v in kept.items()}


def draw_split_figure(image: np.ndarray, vessels: np.ndarray, tiles: dict[str, list[tuple[int, int]]], tile: int,
                      path: str | os.PathLike, size: int = 420) -> None:
    """The photo with its pseudo-labels in cyan beside it (left: photo, right: overlay), training tiles outlined
    green and validation tiles orange, scaled to ``size`` px high (a 128-colour PNG, small enough for docs)."""
    over = image.copy()
    over[vessels] = (0.4 * over[vessels] + 0.6 * np.array([0, 255, 255])).astype(np.uint8)
    panel = Image.fromarray(over)
    draw = ImageDraw.Draw(panel)
    for name, colour in (("training", (0, 220, 0)), ("validation", (255, 150, 0))):
        for y, x in tiles.get(name, []):
            draw.rectangle([x, y, x + tile - 1, y + tile - 1], outline=colour, width=4)
    both = Image.new("RGB", (2 * image.shape[1], image.shape[0]))
    both.paste(Image.fromarray(image), (0, 0))
    both.paste(panel, (image.shape[1], 0))
    scale = size / image.shape[0]
    both = both.resize((round(both.width * scale), size), Image.Resampling.LANCZOS)
    both.quantize(128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
