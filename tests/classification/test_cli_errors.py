"""Bad input to `emov2 train / eval / predict` gives one clear error line and exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

from emov2.cli.main import main

from .train_helpers import TINY, make_folder


def _error(capsys, argv: list[str]) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_missing_data_dir(tmp_path: Path, capsys) -> None:
    line = _error(capsys, ["train", "--data", str(tmp_path / "nope"), "--output", str(tmp_path / "o"), *TINY])
    assert line.startswith("emov2 train: error: data folder not found") and "nope" in line


def test_empty_data_dir(tmp_path: Path, capsys) -> None:
    (tmp_path / "ds" / "train").mkdir(parents=True)
    (tmp_path / "ds" / "val").mkdir(parents=True)
    line = _error(capsys, ["train", "--data", str(tmp_path / "ds"), "--output", str(tmp_path / "o"), *TINY])
    assert "has no class folders" in line


def test_class_folder_without_images(image_dataset: Path, tmp_path: Path, capsys) -> None:
    (image_dataset / "train" / "empty_class").mkdir()
    (image_dataset / "train" / "empty_class" / "notes.txt").write_text("not an image")
    line = _error(capsys, ["train", "--data", str(image_dataset), "--output", str(tmp_path / "o"), *TINY])
    assert "empty_class has no images" in line


def test_all_images_unreadable(tmp_path: Path, capsys) -> None:
    ds = tmp_path / "ds"
    for split in ("train", "val"):
        for c in ("a", "b"):
            (ds / split / c).mkdir(parents=True)
            for i in range(8):
                (ds / split / c / f"{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    line = _error(capsys, ["train", "--data", str(ds), "--output", str(tmp_path / "o"), "--epochs", "1", *TINY])
    assert "no usable training batch" in line and "all 16 training samples were unreadable" in line


def test_eval_classes_mismatch(trained_run: Path, tmp_path: Path, capsys) -> None:
    other = make_folder(tmp_path / "other", classes=("cat", "dog"), per_class=2)
    line = _error(capsys, ["eval", "--checkpoint", str(trained_run / "best.safetensors"), "--data", str(other)])
    assert line.startswith("emov2 eval: error: classes do not match") and "cat" in line


def test_eval_missing_checkpoint(tmp_path: Path, capsys) -> None:
    line = _error(capsys, ["eval", "--checkpoint", str(tmp_path / "x.safetensors"), "--data", str(tmp_path)])
    assert "checkpoint not found" in line


def test_predict_unreadable_image(trained_run: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    line = _error(capsys, ["predict", "--checkpoint", str(trained_run / "best.safetensors"), str(bad)])
    assert line.startswith("emov2 predict: error: cannot read image")


def test_existing_run_needs_resume(trained_run: Path, image_dataset: Path, capsys) -> None:
    line = _error(capsys, ["train", "--data", str(image_dataset), "--output", str(trained_run), *TINY])
    assert "last.pt exists: pass --resume" in line


def test_resume_classes_mismatch(trained_run: Path, tmp_path: Path, capsys) -> None:
    other = tmp_path / "other"
    make_folder(other / "train", classes=("cat", "dog"), per_class=8)
    make_folder(other / "val", classes=("cat", "dog"), per_class=2)
    line = _error(capsys, ["train", "--data", str(other), "--output", str(trained_run), "--resume"])
    assert "--resume: settings differ" in line and "data" in line and str(other) in line


def test_unknown_recipe_setting(tmp_path: Path, capsys) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("epochs: 3\nlearning_rate: 0.1\n")
    line = _error(capsys, ["train", "--config", str(recipe), "--data", "x", "--output", str(tmp_path / "o")])
    assert "unknown setting(s) learning_rate" in line
