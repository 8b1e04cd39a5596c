"""``emov2 data make-retina``: pseudo-labelled tiles of skimage's fundus photo, split by region without overlap."""

import json

import numpy as np
import pytest
from PIL import Image

from emov2.cli.main import main
from emov2.segmentation.hrf import VesselFolder
from emov2.segmentation.retina import retina_split


@pytest.mark.parametrize("tile,gap", [(128, 1), (96, 1), (64, 2), (256, 1)])
def test_split_has_no_overlap_and_a_gap(tile, gap):
    split = retina_split(1411, 1411, tile, gap)
    train, val = split["training"], split["validation"]
    assert train and val
    lowest_train = max(y for y, _ in train) + tile  # first row below the training tiles
    assert min(y for y, _ in val) - lowest_train >= gap * tile
    covered = np.zeros((1411, 1411), np.int64)
    for y, x in train + val:
        assert y + tile <= 1411 and x + tile <= 1411
        covered[y:y + tile, x:x + tile] += 1
    assert covered.max() == 1  # no pixel in two tiles
    with pytest.raises(ValueError, match="leaves no training or validation rows"):
        retina_split(1411, 1411, 704, 1)


@pytest.fixture(scope="module")
def retina(tmp_path_factory):
    out = tmp_path_factory.mktemp("retina")
    assert main(["data", "make-retina", "--output", str(out / "set"), "--figure", str(out / "split.png")]) == 0
    return out


def test_make_retina_layout_and_labels(retina):
    root = retina / "set"
    meta = json.loads((root / "pseudo_labels.json").read_text())
    assert meta["labels"].startswith("pseudo-labels") and meta["source"].startswith("skimage.data.retina")
    assert 0.08 < meta["vessel_fraction_in_fov"] < 0.14
    tiles = {k: [tuple(t) for t in v] for k, v in meta["tiles"].items()}
    for split, n in (("training", 55), ("validation", 32)):
        ds = VesselFolder(root, split)
        assert len(ds) == len(tiles[split]) == n
        names = sorted(f"retina_y{y:04d}_x{x:04d}" for y, x in tiles[split])
        assert [p[0].stem for p in ds.pairs] == names
        image, label = ds[n // 2]
        assert image.shape == (3, 128, 128) and set(label.unique().tolist()) <= {0, 1}
        _, label0 = ds[0]
        _, inside = VesselFolder(root, split, fov_only=True)[0]
        fov = np.asarray(Image.open(root / "fov" / split / f"{ds.pairs[0][0].stem}.png")) > 0
        assert inside.tolist() == np.where(fov, label0.numpy(), 255).tolist() and not fov.all()  # a rim tile
    ys_train = {y for y, _ in tiles["training"]}
    ys_val = {y for y, _ in tiles["validation"]}
    assert min(ys_val) >= max(ys_train) + 2 * 128  # one full tile row between the splits
    # vessels sit inside the field of view, and most labelled tiles have some
    for split in tiles:
        fov = np.stack([np.asarray(Image.open(p)) for p in sorted((root / "fov" / split).iterdir())])
        lab = np.stack([np.asarray(Image.open(p)) for p in sorted((root / "annotations" / split).iterdir())])
        assert not (lab.astype(bool) & ~fov.astype(bool)).any()
        assert (lab.reshape(len(lab), -1).sum(1) > 0).mean() > 0.8
    fig = Image.open(retina / "split.png")
    assert fig.height == 420 and fig.width == 840


def test_make_retina_bad_tile(tmp_path):
    assert main(["data", "make-retina", "--output", str(tmp_path), "--tile", "100"]) == 2
