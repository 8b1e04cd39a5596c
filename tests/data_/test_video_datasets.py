"""Video datasets: both layouts, per-(seed, epoch, index) determinism through the engine's loader, unreadable
videos skipped and named once."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("av", reason="PyAV is not installed (pip install 'emov2[video]')")

from emov2.data.video.collate import SkippedVideos, collate_clips  # noqa: E402
from emov2.data.video.datasets import BadVideo, VideoClipDataset, read_video_list, scan_video_folder  # noqa: E402
from emov2.data.video.decode import BACKENDS, backend_status, read_frames  # noqa: E402
from emov2.data.video.encode import write_video  # noqa: E402
from emov2.data.video.transforms import build_video_eval_transform, build_video_train_transform  # noqa: E402
from emov2.engine.data import EpochLoader, SeededDataset  # noqa: E402
from emov2.engine.distributed import DistInfo  # noqa: E402

BACKEND_PARAMS = [pytest.param(b, marks=pytest.mark.skipif(backend_status(b) is not None,
                                                           reason=str(backend_status(b)))) for b in BACKENDS]


def coded_clip(t: int, value: int, size: int = 32) -> np.ndarray:
    """Frame i is flat grey ``value + 8 i`` (so a decoded frame tells its index)."""
    return np.stack([np.full((size, size, 3), value + 8 * i, np.uint8) for i in range(t)])


@pytest.fixture(scope="module")
def kinetics(tmp_path_factory) -> Path:
    """split/<class>/*: 'b' has .mp4 and .mkv, 'a' one .mp4 of 3 frames (shorter than clip_len), 'c' 8 frames."""
    root = tmp_path_factory.mktemp("kinetics") / "train"
    write_video(root / "b" / "x.mp4", coded_clip(8, 10))
    write_video(root / "b" / "y.mp4", coded_clip(8, 20))
    (root / "b" / "y.mp4").rename(root / "b" / "y.mkv")  # an MP4 stream in a .mkv name still decodes
    write_video(root / "a" / "short.mp4", coded_clip(3, 30))
    write_video(root / "c" / "z.mp4", coded_clip(8, 40))
    (root / "c" / "notes.txt").write_text("not a video")
    (root / ".hidden").mkdir()
    return root


def test_folder_layout(kinetics: Path) -> None:
    samples, classes = scan_video_folder(kinetics)
    assert classes == ["a", "b", "c"]
    assert [(Path(p).name, t) for p, t in samples] == [("short.mp4", 0), ("x.mp4", 1), ("y.mkv", 1), ("z.mp4", 2)]
    with pytest.raises(ValueError, match="classes do not match"):
        VideoClipDataset.from_folder(kinetics, classes=["a", "b"], backend="pyav")
    (kinetics.parent / "empty" / "k").mkdir(parents=True)
    with pytest.raises(ValueError, match="has no videos"):
        scan_video_folder(kinetics.parent / "empty")
    with pytest.raises(FileNotFoundError, match="video folder not found"):
        scan_video_folder(kinetics.parent / "nope")


def test_list_file(kinetics: Path, tmp_path: Path) -> None:
    lst = tmp_path / "train_list.txt"
    lst.write_text("b/x.mp4 1\n\na/short.mp4 0\nc/z.mp4   2\n")
    samples = read_video_list(lst, kinetics)
    assert samples == [(str(kinetics / "b/x.mp4"), 1), (str(kinetics / "a/short.mp4"), 0),
                       (str(kinetics / "c/z.mp4"), 2)]
    ds = VideoClipDataset.from_list(lst, kinetics, backend="pyav")
    assert ds.classes == ["0", "1", "2"] and len(ds) == 3
    spaced = tmp_path / "b" / "with space.mp4"
    write_video(spaced, coded_clip(4, 50))
    lst.write_text("b/with space.mp4 1\n")
    assert read_video_list(lst) == [(str(spaced), 1)]  # root defaults to the list file's folder
    for text, match in [("b/x.mp4 1\nb/x.mp4\n", r"train_list.txt:2: expected 'PATH LABEL'"),
                        ("b/x.mp4 1\n\nb/x.mp4 cat\n", r"train_list.txt:3: label 'cat' is not a non-negative"),
                        ("\n", "lists no videos"), ("gone/v.mp4 0\n", "none of the 1 videos")]:
        lst.write_text(text)
        with pytest.raises(ValueError if "none" not in match else FileNotFoundError, match=match):
            read_video_list(lst, kinetics)
    lst.write_text("b/x.mp4 5\n")
    with pytest.raises(ValueError, match="label 5 out of range for 3 classes"):
        VideoClipDataset.from_list(lst, kinetics, classes=["a", "b", "c"])


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_items_val_and_short_video(kinetics: Path, backend: str) -> None:
    ds = VideoClipDataset.from_folder(kinetics, transform=None, clip_len=4, backend=backend)
    assert ds.backend == backend
    frames, label = ds[0]  # a/short.mp4: 3 frames -> UniformSample repeats: [0, 0, 1, 2] (s = 0.5)
    assert label == 0 and frames.shape == (4, 32, 32, 3)
    assert [round((float(f.float().mean()) - 30) / 8) for f in frames] == [0, 0, 1, 2]
    frames, _ = ds[1]  # b/x.mp4, 8 frames: the test positions [0, 2, 4, 5]
    assert [round((float(f.float().mean()) - 10) / 8) for f in frames] == [0, 2, 4, 5]
    ds.transform = build_video_eval_transform(16, crops=3)
    clip, label = ds[3]
    assert clip.shape == (3, 3, 4, 16, 16) and label == 2


def test_train_items_depend_on_seed_epoch_index_only(kinetics: Path) -> None:
    """Frame positions and augmentation come from the RNGs the engine's SeededDataset seeds per item."""
    tf = build_video_train_transform(16, 24)
    ds = VideoClipDataset.from_folder(kinetics, transform=tf, train=True, backend="pyav")
    seeded = SeededDataset(ds, seed=7)
    a, _ = seeded[(3, 2)]
    torch.manual_seed(123)  # the global RNG state does not matter
    np.random.seed(5)
    b, _ = seeded[(3, 2)]
    assert a.shape == (3, 4, 16, 16) and torch.equal(a, b)
    others = [seeded[(4, 2)][0], SeededDataset(ds, seed=8)[(3, 2)][0]]
    assert not any(torch.equal(a, o) for o in others)
    # the frame positions are drawn from np.random, which the seeding sets too: 8 frames, 4 segments
    positions = {tuple(ds.frame_indices(8).tolist()) for _ in range(30)}
    assert len(positions) > 1 and all(lo <= p[k] <= hi for p in positions
                                      for k, (lo, hi) in enumerate([(0, 2), (2, 4), (4, 5), (5, 7)]))


def test_engine_loader_is_the_same_with_workers(kinetics: Path) -> None:
    tf = build_video_train_transform(16, 24)
    def batches(workers: int) -> list:
        ds = VideoClipDataset.from_folder(kinetics, transform=tf, train=True, backend="pyav")
        loader = EpochLoader(ds, 2, DistInfo(), seed=1, train=True, workers=workers, collate_fn=collate_clips)
        loader.set_epoch(5)
        return list(loader)
    one, two = batches(0), batches(2)
    assert len(one) == 2 and [b[0].shape for b in one] == [(2, 3, 4, 16, 16)] * 2
    for (x0, y0, s0), (x1, y1, s1) in zip(one, two, strict=True):
        assert torch.equal(x0, x1) and torch.equal(y0, y1) and s0 == s1 == []


def test_bad_videos_counted_skipped_and_named_once(kinetics: Path, tmp_path: Path, caplog) -> None:
    root = tmp_path / "bad"
    write_video(root / "ok" / "good.mp4", coded_clip(8, 10))
    (root / "ok" / "zero.mp4").write_bytes(b"")
    (root / "ok" / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(2000))
    data = (root / "ok" / "good.mp4").read_bytes()
    (root / "ok" / "truncated.mp4").write_bytes(data[: len(data) // 2])
    ds = VideoClipDataset.from_folder(root, transform=build_video_eval_transform(16), backend="pyav")
    items = [ds[i] for i in range(4)]  # garbage, good, truncated, zero (sorted)
    assert [isinstance(it, BadVideo) for it in items] == [True, False, True, True]
    assert items[2].path.endswith("truncated.mp4") and items[2].reason.startswith(items[2].path)
    loader = EpochLoader(ds, 4, DistInfo(), train=False, collate_fn=collate_clips)
    skipped = SkippedVideos()
    with caplog.at_level(logging.WARNING, logger="emov2.data.video.collate"):
        for _ in range(2):  # two epochs: each bad file is named once
            (clips, labels, bad), = list(loader)
            assert clips.shape == (1, 3, 4, 16, 16) and labels.tolist() == [0] and skipped(bad) == 3
    assert skipped.total == 6
    named = [r.getMessage() for r in caplog.records]
    assert len(named) == 3
    for name in ("zero.mp4", "garbage.mp4", "truncated.mp4"):
        assert sum(name in m for m in named) == 1
    assert all(m.startswith("skipping unreadable video ") and "\n" not in m for m in named)


def test_collate_clips() -> None:
    bad = BadVideo("x.mp4", "x.mp4: broken")
    clips, labels, dropped = collate_clips([(torch.zeros(3, 4, 8, 8), 2), bad, None, (torch.ones(3, 4, 8, 8), 0)])
    assert clips.shape == (2, 3, 4, 8, 8) and labels.tolist() == [2, 0] and dropped == [bad, None]
    assert collate_clips([bad]) == (None, None, [bad])


def test_decoded_frames_match_between_dataset_and_reader(kinetics: Path) -> None:
    ds = VideoClipDataset.from_folder(kinetics, backend="pyav")
    frames, inds = ds.load(3)
    assert inds.tolist() == [0, 2, 4, 5]
    assert torch.equal(frames, read_frames(kinetics / "c" / "z.mp4", inds.tolist(), "pyav"))
