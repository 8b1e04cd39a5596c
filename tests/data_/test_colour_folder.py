"""The 3-colour ImageFolder of the issue-13 acceptance run: layout, variety, and an easy but non-trivial task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from classification.train_helpers import make_colour_folder  # tests/ is on sys.path (rootdir-relative packages)
from PIL import Image

from emov2.data.folder import image_folder_splits


def test_colour_folder(tmp_path: Path) -> None:
    root = make_colour_folder(tmp_path / "colours", per_class=40, size=32, seed=0)
    train, val = image_folder_splits(root)
    assert train.classes == ["blue", "green", "red"] and len(train) == 120 and len(val) == 60
    assert np.bincount(train.targets).tolist() == [40] * 3 and np.bincount(val.targets).tolist() == [20] * 3
    images = {p: np.asarray(Image.open(p)) for p, _ in train.samples + val.samples}
    assert all(a.shape == (32, 32, 3) and a.dtype == np.uint8 for a in images.values())
    assert len({a.tobytes() for a in images.values()}) == 180  # no two images alike
    assert min(a.std((0, 1)).mean() for a in images.values()) > 8  # textured, not flat
    # the class is the dominant colour: the nearest training class mean of the mean colour is right on val
    means = np.stack([np.mean([images[p].mean((0, 1)) for p, t in train.samples if t == c], 0) for c in range(3)])
    pred = [np.argmin(((means - images[p].mean((0, 1))) ** 2).sum(1)) for p, _ in val.samples]
    assert (np.array(pred) == np.array(val.targets)).all()
    # and the same seed writes the same files
    again = make_colour_folder(tmp_path / "again", per_class=40, size=32, seed=0)
    assert (again / "val" / "red" / "3.png").read_bytes() == (root / "val" / "red" / "3.png").read_bytes()
