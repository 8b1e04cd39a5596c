"""The data of a video run: both layouts (folders, mmaction2 list files with class names), and the one-line
errors for data that cannot be used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from emov2.cli.main import main
from emov2.engine.distributed import DistInfo
from emov2.video.config import VideoConfig
from emov2.video.data import build_video_data

SMALL = dict(batch_size=4, workers=0, img_size=32, short_side=36)


def test_list_files_with_class_names(motion_set: Path) -> None:
    data = build_video_data(VideoConfig(data=str(motion_set / "train.txt"), **SMALL), DistInfo())
    # classes.txt beside the list file names the labels; val.txt is found from the train list's name
    assert data.classes == ["down", "left", "right", "rotate-ccw", "rotate-cw", "still", "up"]
    assert data.val_split.endswith("val.txt") and len(data.train) == 3 and len(data.val) == 2
    x, y, bad = next(iter(data.val))
    assert x.shape == (4, 3, 4, 32, 32) and y.tolist() == [0, 1, 2, 3] and bad == []  # val.txt order


def test_folder_and_list_give_the_same_clips(motion_set: Path) -> None:
    a = build_video_data(VideoConfig(data=str(motion_set), **SMALL), DistInfo())
    b = build_video_data(VideoConfig(data=str(motion_set / "train.txt"), val_data=str(motion_set / "val.txt"),
                                     **SMALL), DistInfo())
    xa, ya, _ = next(iter(a.val))
    xb, yb, _ = next(iter(b.val))
    assert a.classes == b.classes and ya.tolist() == yb.tolist() and (xa - xb).abs().max() == 0


def test_bad_data_is_one_clear_line(motion_set: Path, tmp_path: Path, capsys) -> None:
    cases = []
    no_val = tmp_path / "no_val"
    shutil.copytree(motion_set / "train", no_val / "train")
    cases.append((["--data", str(no_val)], "has no val/ folder"))
    lst = tmp_path / "mine.txt"
    lst.write_text("".join(line.replace("train/", f"{motion_set}/train/") + "\n"
                           for line in (motion_set / "train.txt").read_text().splitlines()))
    cases.append((["--data", str(lst)], "give the validation list with --val-data"))
    cases.append((["--data", str(motion_set), "--batch-size", "64"], "fewer than one batch of 64"))
    cases.append((["--data", str(tmp_path / "nope")], "video data not found"))
    cases.append((["--data", str(motion_set), "--model", "frame_avg_emov2_1m", "--batch-size", "4",
                   "--window-size", "2", "2", "2"],
                  "--window-size"))
    for flags, message in cases:
        assert main(["video", "train", "--output", str(tmp_path / "out"), "--iters", "1", "--workers", "0",
                     "--no-progress", *flags]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("emov2 video train: error: ") and message in err[0], err


def test_eval_checks_the_classes(trained_video_run: Path, motion_set: Path, tmp_path: Path, capsys) -> None:
    other = tmp_path / "other"
    shutil.copytree(motion_set / "val", other)
    shutil.rmtree(other / "still")
    assert main(["video", "eval", "--checkpoint", str(trained_video_run / "best.safetensors"), "--data",
                 str(other), "--workers", "0"]) == 2
    assert "classes do not match" in capsys.readouterr().err
    assert main(["video", "eval", "--checkpoint", str(trained_video_run / "best.safetensors"), "--data",
                 str(motion_set), "--workers", "0"]) == 2
    assert "did you mean --data" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["video", "eval", "--checkpoint", "x", "--data", "y", "--test-crops", "2"])
