"""No command unpickles code: a crafted checkpoint that would run a shell command is refused by every command
that reads one, with one clear error line and exit code 2 (and the command never runs)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from emov2.cli.main import main


class _RunsAShellCommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def crafted(tmp_path: Path):
    """``evil.pt`` / ``last.pt`` / ``evil.pth`` holding the payload in the places each reader looks."""
    marker = tmp_path / "PWNED"
    payload = {"format": "emov2-state-1", "task": "cls", "info": {"task": "cls", "arch": "emov2_1m"},
               "config": {}, "model": _RunsAShellCommand(marker), "net": _RunsAShellCommand(marker)}
    run = tmp_path / "run"
    run.mkdir()
    for path in (tmp_path / "evil.pt", run / "last.pt", tmp_path / "evil.pth"):
        path.write_bytes(pickle.dumps(payload))
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (32, 32)).save(image)
    for folder in ("data/a", "tdata/train/a", "tdata/train/b", "tdata/val/a", "tdata/val/b"):
        (tmp_path / folder).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (32, 32), (i * 90, 0, 0)).save(tmp_path / folder / f"{i}.png")
    return tmp_path, marker


COMMANDS = [
    ["train", "--output", "{run}", "--resume"],
    ["train", "--data", "{tdata}", "--output", "{out}", "--initial-checkpoint", "{pth}", "--epochs", "1",
     "--batch-size", "2", "--img-size", "32"],
    ["train", "--data", "{tdata}", "--output", "{out}", "--teacher", "resnet10t", "--teacher-checkpoint", "{pth}",
     "--epochs", "1", "--batch-size", "2", "--img-size", "32"],
    ["eval", "--checkpoint", "{pt}", "--data", "{data}"],
    ["predict", "--checkpoint", "{pt}", "{image}"],
    ["export", "--checkpoint", "{run}/last.pt", "--output", "{out}/m.onnx"],
    ["export", "--model", "emov2_1m", "--checkpoint", "{pth}", "--output", "{out}/m.onnx"],
    ["convert", "{pth}", "{out}/m.safetensors"],
    ["det", "eval", "--checkpoint", "{pt}", "--data", "{data}"],
    ["det", "predict", "--checkpoint", "{pt}", "{image}", "--output", "{out}"],
    ["seg", "eval", "--checkpoint", "{pt}", "--data", "{data}"],
    ["seg", "predict", "--checkpoint", "{pt}", "{image}", "--output", "{out}"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]) + (" " + a[-2] if "pth" in " ".join(a)
                                                                                else ""))
def test_crafted_checkpoint_is_refused(argv: list[str], crafted, capsys) -> None:
    tmp, marker = crafted
    paths = dict(run=tmp / "run", data=tmp / "data", tdata=tmp / "tdata", out=tmp / "out", pt=tmp / "evil.pt",
                 pth=tmp / "evil.pth", image=tmp / "x.png")
    rc = main([a.format(**paths) for a in argv])
    err = capsys.readouterr().err
    assert not marker.exists(), "the crafted checkpoint ran a shell command"
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "refused" in lines[0] or "weights-only" in lines[0], lines[0]


def test_backbone_weights_of_dense_models_are_refused(crafted) -> None:
    from emov2.detection import create_detector
    from emov2.segmentation import create_segmenter
    from emov2.utils.files import CheckpointError

    tmp, marker = crafted
    with pytest.raises(CheckpointError, match="refused"):
        create_detector("ssdlite", "emov2_1m", 3, backbone_checkpoint=tmp / "evil.pth", size=96)
    with pytest.raises(CheckpointError, match="refused"):
        create_segmenter("fpn", "emov2_1m", 3, backbone_checkpoint=tmp / "evil.pth")
    assert not marker.exists()
