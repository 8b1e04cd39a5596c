"""HRF-layout retinal vessel data (High-Resolution Fundus, Budai et al. 2013), as mmseg's converter writes it.

Layout (read by :class:`VesselFolder`, written by :func:`convert_hrf` and by ``emov2 data make-retina``)::

    ROOT/images/{training,validation}/NAME.png        RGB fundus photo
    ROOT/annotations/{training,validation}/NAME.png   vessel mask, 0 background / 1 vessel
    ROOT/fov/{training,validation}/NAME.png           field-of-view mask, 0 outside / 1 inside (optional)

HRF itself (45 photos of 3504 x 2336, 15 each healthy ``_h``, diabetic retinopathy ``_dr``, glaucoma ``_g``) ships
as ``images/NN_cat.jpg``, ``manual1/NN_cat.tif`` and ``mask/NN_cat_mask.tif``. mmseg's split: per category the first
5 files in sorted order train (15), the other 10 validate (30); masks are divided by 128 (``>= 128`` -> 1).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .data import SegmentationFolder
from .transforms import SegEval, SegTrain

__all__ = ["HRF_CLASSES", "HRF_SCALE", "VesselFolder", "convert_hrf", "hrf_transforms"]

HRF_CLASSES = ("background", "vessel")
HRF_SCALE = (3504, 2336)  # native size; RandomResize base scale and test resize (mmseg writes (2336, 3504))
_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


def hrf_transforms(crop: int = 256, scale: tuple[int, int] = HRF_SCALE) -> tuple[SegTrain, SegEval]:
    """The paper's HRF pipelines: train = RandomResize(scale, ratio 0.5-2, keep ratio) -> RandomCrop(crop,
    cat_max_ratio 0.75) -> flip 0.5 -> PhotoMetricDistortion -> normalise/pad; test = keep-ratio resize to
    ``scale``, normalise (then sliding windows of 256 at stride 170, :func:`~.engine.evaluate_vessels`)."""
    return SegTrain(crop, scale), SegEval(scale)


class VesselFolder(SegmentationFolder):
    """Two-class (background / vessel) data in the HRF layout; item ``(image (3, H, W), label (H, W) int64)``.

    Args:
        root, split: the layout's root and split folder name (``training`` / ``validation``).
        transforms: ``(image, label) -> (image, label)``, e.g. one of :func:`hrf_transforms`.
        fov_only: read ``fov/<split>/NAME.png`` and mark pixels outside the field of view 255 (ignored by the loss
            and the metrics). Off by default, as mmseg's HRF evaluation counts every pixel.
    """

    def __init__(self, root: str | os.PathLike, split: str, transforms=None, fov_only: bool = False) -> None:
        super().__init__(root, split, len(HRF_CLASSES), transforms=transforms)
        self.fov_only = fov_only
        self.fov_dir = Path(root) / "fov" / split
        if fov_only and not self.fov_dir.is_dir():
            raise FileNotFoundError(f"folder not found: {self.fov_dir} (fov_only needs the field-of-view masks)")

    def load(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, label = super().load(idx)
        if (label == 255).any():
            raise ValueError(f"{self.pairs[idx][1]}: vessel masks must hold 0/1, found 255 (a 0/255 mask: divide it "
                             "by 128 as convert_hrf does)")
        if self.fov_only:
            path = self.fov_dir / f"{self.pairs[idx][1].stem}.png"
            if not path.is_file():
                raise FileNotFoundError(f"field-of-view mask not found: {path}")
            fov = torch.from_numpy(np.asarray(Image.open(path).convert("L")) > 0)
            if fov.shape != label.shape:
                raise ValueError(f"{path}: FOV size {tuple(fov.shape)} differs from label size {tuple(label.shape)}")
            label = torch.where(fov, label, torch.full_like(label, 255))
        return image, label


def _binary(path: Path) -> np.ndarray:
    """A mask file as uint8 0/1: first channel, ``// 128`` (mmseg's rule for HRF's non-binary masks)."""
    a = np.asarray(Image.open(path))
    if a.ndim == 3:
        a = a[..., 0]
    if a.dtype == bool:
        return a.astype(np.uint8)
    return (a.astype(np.int64) // 128).clip(0, 1).astype(np.uint8)


def convert_hrf(src: str | os.PathLike, out: str | os.PathLike, train_per_category: int = 5) -> dict[str, int]:
    """HRF as downloaded (``src/images``, ``src/manual1``, ``src/mask``) -> the layout above, mmseg's split.

    Categories are the part of the name after the last ``_`` (``01_dr`` -> ``dr``). Returns the number of
    photos per split. Raises ``FileNotFoundError`` naming a missing folder or vessel mask, ``ValueError`` when a
    category has no more than ``train_per_category`` photos.
    """
    src, out = Path(src), Path(out)
    for d in ("images", "manual1"):
        if not (src / d).is_dir():
            raise FileNotFoundError(f"folder not found: {src / d} (expected HRF's images/, manual1/, mask/)")
    by_cat: dict[str, list[Path]] = defaultdict(list)
    for p in sorted((src / "images").iterdir()):
        if p.suffix.lower() in _IMAGE_EXTS and "_" in p.stem:
            by_cat[p.stem.rsplit("_", 1)[1]].append(p)
    if not by_cat:
        raise FileNotFoundError(f"no NN_category images in {src / 'images'}")
    counts: Counter = Counter()
    for cat, paths in sorted(by_cat.items()):
        if len(paths) <= train_per_category:
            raise ValueError(f"category {cat!r}: {len(paths)} photos, need more than {train_per_category}")
        for k, img_path in enumerate(paths):  # sorted by name, as mmseg's converter
            split = "training" if k < train_per_category else "validation"
            stem = img_path.stem
            vessels = _find(src / "manual1", stem)
            if vessels is None:
                raise FileNotFoundError(f"vessel mask not found for {img_path.name} in {src / 'manual1'}")
            _save(Image.open(img_path).convert("RGB"), out / "images" / split / f"{stem}.png")
            _save(Image.fromarray(_binary(vessels)), out / "annotations" / split / f"{stem}.png")
            fov = _find(src / "mask", f"{stem}_mask") if (src / "mask").is_dir() else None
            if fov is not None:
                _save(Image.fromarray(_binary(fov)), out / "fov" / split / f"{stem}.png")
            counts[split] += 1
    return dict(counts)


def _find(folder: Path, stem: str) -> Path | None:
    hits = [p for p in folder.glob(f"{stem}.*") if p.suffix.lower() in _IMAGE_EXTS]
    return hits[0] if hits else None


def _save(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
