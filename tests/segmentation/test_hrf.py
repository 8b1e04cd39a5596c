"""HRF layout: mmseg's converter split, the vessel data set (FOV masks, bad masks), the paper's pipeline pieces and
per-sample seeded augmentation."""

import random

import numpy as np
import pytest
import torch
from PIL import Image

from emov2.engine.data import SeededDataset
from emov2.segmentation.data import RepeatedDataset
from emov2.segmentation.hrf import HRF_SCALE, VesselFolder, convert_hrf, hrf_transforms
from emov2.segmentation.transforms import MEAN, STD, PhotoMetricDistortion, SegTrain


def write_raw_hrf(root, per_cat=6, size=(24, 36)):
    """HRF as downloaded: images/NN_cat.jpg, manual1/NN_cat.tif (0/255, some grey), mask/NN_cat_mask.tif."""
    rng = np.random.default_rng(0)
    for d in ("images", "manual1", "mask"):
        (root / d).mkdir(parents=True)
    masks = {}
    for cat in ("h", "dr", "g"):
        for i in range(per_cat, 0, -1):  # written in reverse order: the split must sort
            stem = f"{i:02d}_{cat}"
            Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(root / "images" / f"{stem}.jpg")
            vessel = rng.choice(np.array([0, 100, 200, 255], np.uint8), size)
            Image.fromarray(vessel).save(root / "manual1" / f"{stem}.tif")
            fov = np.zeros(size, np.uint8)
            fov[2:-2, 3:-3] = 255
            Image.fromarray(fov).save(root / "mask" / f"{stem}_mask.tif")
            masks[stem] = (vessel >= 128).astype(np.int64), fov > 0
    return masks


def test_convert_hrf_split_and_round_trip(tmp_path):
    masks = write_raw_hrf(tmp_path / "raw")
    counts = convert_hrf(tmp_path / "raw", tmp_path / "hrf")
    assert counts == {"training": 15, "validation": 3}
    train = sorted(p.stem for p in (tmp_path / "hrf" / "images" / "training").iterdir())
    assert train == sorted(f"{i:02d}_{c}" for c in ("h", "dr", "g") for i in range(1, 6))
    val = VesselFolder(tmp_path / "hrf", "validation")
    assert [p[0].stem for p in val.pairs] == ["06_dr", "06_g", "06_h"]
    image, label = val[0]
    assert image.shape == (3, 24, 36) and image.dtype == torch.float32
    assert label.tolist() == masks["06_dr"][0].tolist()  # /128: 100 -> 0, 200 -> 1
    _, inside = VesselFolder(tmp_path / "hrf", "validation", fov_only=True)[0]
    vessel, fov = masks["06_dr"]
    assert inside.tolist() == np.where(fov, vessel, 255).tolist()


def test_convert_hrf_errors(tmp_path):
    write_raw_hrf(tmp_path / "raw", per_cat=5)
    with pytest.raises(ValueError, match="need more than 5"):
        convert_hrf(tmp_path / "raw", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="manual1"):
        convert_hrf(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "raw" / "manual1" / "01_h.tif").unlink()
    with pytest.raises(FileNotFoundError, match="vessel mask not found for 01_h"):
        convert_hrf(tmp_path / "raw", tmp_path / "out", train_per_category=2)


def test_vessel_folder_errors(tmp_path):
    for d in ("images", "annotations"):
        (tmp_path / d / "s").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "images" / "s" / "a.png")
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / "annotations" / "s" / "a.png")
    with pytest.raises(ValueError, match="must hold 0/1, found 255"):
        VesselFolder(tmp_path, "s")[0]
    with pytest.raises(FileNotFoundError, match="fov_only needs"):
        VesselFolder(tmp_path, "s", fov_only=True)
    Image.fromarray(np.full((8, 8), 2, np.uint8)).save(tmp_path / "annotations" / "s" / "a.png")
    with pytest.raises(ValueError, match="out of range 0..1"):
        VesselFolder(tmp_path, "s")[0]


def test_hrf_pipelines():
    train, test = hrf_transforms()
    assert train.crop == 256 and train.scale == HRF_SCALE == test.scale and train.ratio == (0.5, 2.0)
    assert train.cat_max_ratio == 0.75
    random.seed(0)
    img, lab = torch.rand(3, 60, 90), (torch.rand(60, 90) > 0.9).long()
    x, y = SegTrain(crop=32, scale=(90, 60))(img, lab)
    assert x.shape == (3, 32, 32) and set(y.unique().tolist()) <= {0, 1}
    pad = SegTrain(crop=128, scale=(90, 60), ratio=(1.0, 1.0))
    pad.photo = lambda im: im
    x, y = pad(torch.full((3, 60, 90), 0.5), lab)  # normalised, then padded: image 0 (the mean), label 255
    assert (y[60:] == 255).all() and (x[:, 60:] == 0).all() and (y[:, 90:] == 255).all()
    expected = (0.5 - torch.tensor(MEAN)) / torch.tensor(STD)
    torch.testing.assert_close(x[:, :60, :90], expected.view(3, 1, 1).expand(3, 60, 90))
    x, y = test(torch.rand(3, 1168, 1752), lab)  # keep-ratio resize to the native size, label untouched
    assert x.shape == (3, 2336, 3504) and y.shape == lab.shape


def test_photometric_distortion_is_mmsegs_formula(monkeypatch):
    img = torch.rand(3, 8, 8)
    draws = iter([1, 16.0, 1, 1, 1.5, 0, 0])  # brightness on (+16), contrast first, on (x1.5), no sat., no hue
    monkeypatch.setattr(random, "randint", lambda a, b: next(draws))
    monkeypatch.setattr(random, "uniform", lambda a, b: next(draws))
    out = PhotoMetricDistortion()(img)
    torch.testing.assert_close(out, ((img + 16 / 255).clamp(0, 1) * 1.5).clamp(0, 1))


class Noisy(torch.utils.data.Dataset):
    """Items drawn from the global RNGs, like an augmenting data set."""

    def __len__(self):
        return 3

    def __getitem__(self, i):
        return torch.tensor([i, random.random(), torch.rand(()).item()])


def test_repeated_samples_depend_only_on_seed_epoch_index():
    ds = SeededDataset(RepeatedDataset(Noisy(), repeat=4), seed=7)
    assert len(ds) == 12
    random.seed(123)
    torch.manual_seed(123)
    state = random.getstate(), torch.get_rng_state()
    a = torch.stack([ds[(0, i)] for i in range(12)])
    assert random.getstate() == state[0] and torch.equal(torch.get_rng_state(), state[1])  # global RNGs untouched
    b = torch.stack([ds[(0, i)] for i in reversed(range(12))]).flip(0)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert a[:, 0].tolist() == [i % 3 for i in range(12)]  # RepeatDataset order
    assert len(set(a[:, 1].tolist())) == 12  # every repeat draws afresh
    assert not torch.equal(torch.stack([ds[(1, i)] for i in range(12)]), a)  # and every epoch
    with pytest.raises(IndexError):
        RepeatedDataset(Noisy(), repeat=4)[12]



def test_normalisation_constants():
    assert MEAN == (0.485, 0.456, 0.406) and STD == (0.229, 0.224, 0.225)


def test_recipe_is_the_papers():
    import argparse

    from emov2.cli._train import add_train_flags, resolve_settings
    from emov2.segmentation.config import SegConfig

    p = argparse.ArgumentParser()
    add_train_flags(p, SegConfig)
    r = resolve_settings(p.parse_args(["--arch", "unet"]), SegConfig, "seg", base="unet_hrf", base_under_config=True)
    assert (r.opt, r.lr, r.weight_decay, r.clip_grad, r.wd_exclude) == ("adamw", 1.2e-4, 0.05, 0.1, "layernorm")
    assert (r.sched, r.warmup_iters, r.warmup_lr, r.constant_until, r.iters) == ("const_cosine", 500, 1.2e-9, 0.5,
                                                                                 40000)
    assert (r.batch_size, r.crop, r.slide_crop, r.slide_stride, r.repeat) == (32, 256, 256, 170, 40000)
    assert tuple(r.scale) == HRF_SCALE and r.aux_weight == 0.4 and r.select_metric == "mDice"
    assert (r.arch, r.backbone, r.window_size, r.num_classes, r.data_layout) == ("unet", "i2rmb", 8, 2, "hrf")
