"""The bad-data sweep for ImageNet-layout folders: every case is read correctly, skipped and counted with one
line naming the file, or refused up front with one clear line; nothing crashes mid-run."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from emov2.data import folder
from emov2.data.folder import ImageFolderChecked, collate_skip_bad, image_folder_splits, scan_image_folder
from emov2.data.transforms import build_eval_transform, build_train_transform

from . import bad_folder as bf
from .bad_folder import CLASSES, CONVERTED, IGNORED, SKIPPED, make_bad_folder, noisy


@pytest.fixture(autouse=True)
def _fresh_reports(monkeypatch):
    """Every test starts with no unreadable image named yet in this process."""
    monkeypatch.setattr(folder, "_named", set())
    monkeypatch.setattr(folder, "_said_more", [False])


@pytest.fixture
def bad_root(tmp_path: Path) -> Path:
    return make_bad_folder(tmp_path / "ds", per_class=5)


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == folder.__name__ and r.levelno == logging.WARNING]


def test_scan_lists_only_image_files_and_names_the_rest(bad_root: Path, caplog) -> None:
    caplog.set_level(logging.WARNING, folder.__name__)
    scan = scan_image_folder(bad_root / "train")
    assert scan.classes == sorted(CLASSES)
    names = {(Path(p).parent.name, Path(p).name) for p, _ in scan.samples}
    expected = {(c, f"{i}.png") for c in CLASSES for i in range(5)}
    expected |= {("green", f) for f in CONVERTED} | {("red apple", f) for f in SKIPPED}
    assert names == expected  # nothing walked twice through the loops, no non-image listed
    assert {Path(p).name: why for p, why in scan.ignored} == {
        "notes.txt": "not an image file", ".DS_Store": "hidden file", "._photo.jpg": "hidden file",
        "pipe.jpg": "not a regular file"}
    assert len(scan.ignored) == len(IGNORED)
    lines = _warnings(caplog)
    ignored_line = [m for m in lines if m.startswith("ignored 4 file(s)")]
    assert len(ignored_line) == 1 and str(bad_root / "train") in ignored_line[0] and ", ..." not in ignored_line[0]
    assert all(f"café/{name}" in ignored_line[0] for name in IGNORED)


def test_symlink_loops_end_the_walk_with_one_line_each(bad_root: Path, caplog) -> None:
    caplog.set_level(logging.WARNING, folder.__name__)
    scan = scan_image_folder(bad_root / "train")
    skipped = {Path(p).name: why for p, why in scan.skipped_dirs}
    assert set(skipped) == {"loop", "self"}
    assert "the data root" in skipped["loop"] and "class folder" in skipped["self"]
    lines = [m for m in _warnings(caplog) if m.startswith("skipped folder")]
    assert len(lines) == 2 and any("green/loop" in m for m in lines) and any("café/self" in m for m in lines)


def test_class_names_with_spaces_and_non_ascii(bad_root: Path) -> None:
    ds = ImageFolderChecked(bad_root / "train")
    assert ds.classes == ["café", "green", "red apple"] and ds.class_to_idx["red apple"] == 2
    for path, label in ds.samples:
        assert Path(path).parent.name == ds.classes[label]
    # the same class written decomposed (e + U+0301, as macOS does) is the same class
    val = bad_root / "val"
    nfd = unicodedata.normalize("NFD", "café")
    assert nfd != "café"
    os.rename(val / "café", val / nfd)
    v = ImageFolderChecked(val, classes=ds.classes)
    assert v.classes == ds.classes and sorted({t for _, t in v.samples}) == [0, 1, 2]
    assert all(Path(p).parent.name == nfd for p, t in v.samples if t == 0)


def _read(ds: ImageFolderChecked, name: str) -> np.ndarray:
    (i,) = [i for i, (p, _) in enumerate(ds.samples) if Path(p).name == name]
    img = ds.load(i)
    assert img is not None and img.mode == "RGB"
    return np.asarray(img).astype(int)


def test_converted_cases_read_correctly(tmp_path: Path) -> None:
    d = tmp_path / "train" / "c"
    d.mkdir(parents=True)
    bf.write_converted(d)
    ds = ImageFolderChecked(tmp_path / "train")
    assert abs(_read(ds, "cmyk.jpg") - [255, 0, 0]).max() <= 3  # CMYK (0, 255, 255, 0) is red
    deep = _read(ds, "deep16.png")
    assert (deep == (bf.deep16_array().astype(int) >> 8)[..., None]).all()  # scaled, not clipped to white
    pal = _read(ds, "palette_alpha.png")
    assert (pal[:4] == [255, 0, 0]).all() and (pal[4:] == 255).all()  # transparent pixels shown over white
    half = _read(ds, "palette_alpha_bytes.png")
    assert (half[4:] == 255).all() and (abs(half[:4] - [255, 127, 127]) <= 1).all()  # half red over white
    assert (_read(ds, "tiny.png") == [[[7, 8, 9]]]).all()
    upright = np.rot90(bf.exif_stored_array(), k=-1)  # orientation 6: turn 90 degrees clockwise
    got = _read(ds, "rotated.jpg")
    assert got.shape == upright.shape == (30, 20, 3)
    for y, x in ((7, 5), (7, 15), (22, 5), (22, 15)):  # quadrant centres
        assert abs(got[y, x] - upright[y, x]).max() < 40, (y, x, got[y, x], upright[y, x])


def test_converted_cases_go_through_both_transforms(tmp_path: Path) -> None:
    d = tmp_path / "train" / "c"
    d.mkdir(parents=True)
    bf.write_converted(d)
    for tf in (build_train_transform(32), build_eval_transform(32)):
        ds = ImageFolderChecked(tmp_path / "train", tf)
        for i in range(len(ds)):
            x, y = ds[i]
            assert x.shape == (3, 32, 32) and torch.isfinite(x).all() and y == 0


@pytest.mark.parametrize("name, reason", [("empty.jpg", "empty file (0 bytes)"),
                                          ("truncated.jpg", "OSError"), ("io_error.jpg", "Input/output error")])
def test_undecodable_files_are_skipped_with_one_line(tmp_path: Path, name: str, reason: str, caplog) -> None:
    caplog.set_level(logging.WARNING, folder.__name__)
    d = tmp_path / "train" / "c"
    d.mkdir(parents=True)
    bf.write_skipped(d)
    ds = ImageFolderChecked(tmp_path / "train", build_train_transform(32))
    (i,) = [i for i, (p, _) in enumerate(ds.samples) if Path(p).name == name]
    assert ds[i] is None and ds[i] is None  # asked twice (two epochs): named once
    lines = _warnings(caplog)
    assert len(lines) == 1 and lines[0].startswith(f"skipping unreadable image {d / name}: ") and reason in lines[0]


def test_unreadable_file_permission_denied(caplog) -> None:
    """A file without read permission. Root reads any file, so as root the loading runs with the effective
    user set to nobody (``seteuid``), in a world-traversable folder, so that only the file's mode refuses it."""
    caplog.set_level(logging.WARNING, folder.__name__)
    as_root = os.geteuid() == 0
    if as_root and not hasattr(os, "seteuid"):
        pytest.skip("running as root without seteuid: root reads a file whatever its mode")
    base = Path(tempfile.mkdtemp(prefix="emov2-perm-"))
    try:
        d = base / "train" / "c"
        d.mkdir(parents=True)
        for p in (base, base / "train", d):
            p.chmod(0o755)
        noisy((1, 2, 3)).save(d / "ok.png")
        noisy((4, 5, 6)).save(d / "denied.png")
        (d / "ok.png").chmod(0o644)
        (d / "denied.png").chmod(0o000)
        ds = ImageFolderChecked(base / "train")
        assert [Path(p).name for p, _ in ds.samples] == ["denied.png", "ok.png"]
        if as_root:
            try:
                os.seteuid(65534)
            except PermissionError:
                pytest.skip("running as root without CAP_SETUID: root reads a file whatever its mode")
        try:
            denied, ok = ds.load(0), ds.load(1)
        finally:
            if as_root:
                os.seteuid(0)
        assert denied is None and ok is not None  # the folder is readable; only the file's mode refuses it
        lines = _warnings(caplog)
        assert len(lines) == 1 and f"{d / 'denied.png'}: PermissionError" in lines[0]
    finally:
        shutil.rmtree(base)


def test_val_class_missing_from_train(bad_root: Path) -> None:
    (bad_root / "val" / "blue").mkdir()
    noisy((0, 0, 255)).save(bad_root / "val" / "blue" / "0.png")
    with pytest.raises(ValueError) as e:
        image_folder_splits(bad_root)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("classes do not match")
    assert "'blue'" in msg and str(bad_root / "val") in msg and f"training folder {bad_root / 'train'}" in msg


def test_val_lacking_a_train_class_is_labelled_by_name(bad_root: Path, caplog) -> None:
    caplog.set_level(logging.WARNING, folder.__name__)
    shutil.rmtree(bad_root / "val" / "green")
    train, val = image_folder_splits(bad_root)
    assert val.classes == train.classes == ["café", "green", "red apple"]
    assert {(Path(p).parent.name, t) for p, t in val.samples} == {("café", 0), ("red apple", 2)}
    assert any("no folder for 1 of the 3 classes" in m and "green" in m for m in _warnings(caplog))


def test_unreadable_lines_are_capped(tmp_path: Path, caplog, monkeypatch) -> None:
    caplog.set_level(logging.WARNING, folder.__name__)
    monkeypatch.setattr(folder, "MAX_NAMED", 3)
    d = tmp_path / "train" / "c"
    d.mkdir(parents=True)
    for i in range(6):
        (d / f"{i}.jpg").write_bytes(b"")
    ds = ImageFolderChecked(tmp_path / "train")
    assert all(ds[i] is None for i in range(6))
    lines = _warnings(caplog)
    assert len(lines) == 4 and lines[-1].startswith("more than 3 unreadable images")


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_skips_and_counts(bad_root: Path, workers: int) -> None:
    train, _ = image_folder_splits(bad_root, build_train_transform(32), build_eval_transform(32))
    loader = DataLoader(train, batch_size=8, shuffle=True, num_workers=workers, collate_fn=collate_skip_bad,
                        generator=torch.Generator().manual_seed(0))
    seen, bad, labels = 0, 0, []
    for x, y, n_bad in loader:
        bad += n_bad
        if x is not None:
            assert x.shape[1:] == (3, 32, 32) and len(y) == len(x) and torch.isfinite(x).all()
            seen += len(x)
            labels += y.tolist()
    assert bad == len(SKIPPED) and seen == 3 * 5 + len(CONVERTED)
    assert sorted(labels) == sorted([0] * 5 + [1] * (5 + len(CONVERTED)) + [2] * 5)


def test_batch_of_only_bad_images() -> None:
    assert collate_skip_bad([None, None]) == (None, None, 2)
    x, y, bad = collate_skip_bad([None, (torch.zeros(3, 2, 2), 1)])
    assert x.shape == (1, 3, 2, 2) and y.tolist() == [1] and bad == 1


def test_read_image_matches_plain_pil_for_ordinary_images(tmp_path: Path) -> None:
    """An ordinary RGB photo reads exactly as PIL (and timm/torchvision loaders) read it."""
    p = tmp_path / "a.jpg"
    noisy((30, 60, 90), (24, 16)).save(p, quality=90)
    with Image.open(p) as im:
        ref = np.asarray(im.convert("RGB"))
    assert np.array_equal(np.asarray(folder.read_image(p)), ref)
