"""The embedded moving-garment video set: the motion is the class, a single frame carries none of it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("av", reason="PyAV is not installed (pip install 'emov2[video]')")

from emov2.data.fashion_mnist import find_fashion_mnist  # noqa: E402
from emov2.data.video.datasets import VideoClipDataset  # noqa: E402
from emov2.data.video.decode import read_frames  # noqa: E402
from emov2.data.video.synthetic import MOTION_CLASSES, ClipParams, make_videos, render_clip, sample_params  # noqa: E402


def bar_garment() -> torch.Tensor:
    """28x28: a horizontal bar with a vertical cap at its right end (its pose is visible)."""
    g = torch.zeros(28, 28, dtype=torch.uint8)
    g[12:16, 4:24] = 255
    g[8:20, 20:24] = 255
    return g


def tiny_garments(n: int = 5) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(0)
    pool = torch.from_numpy(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
    return {"train": pool, "val": pool.flip(-1)}


def centroids(frames: torch.Tensor) -> list[tuple[float, float]]:
    w = (frames.float().mean(-1) > 200).float()
    ys, xs = torch.meshgrid(torch.arange(w.shape[1]).float(), torch.arange(w.shape[2]).float(), indexing="ij")
    return [(float((m * xs).sum() / m.sum()), float((m * ys).sum() / m.sum())) for m in w]


def test_motions_move_as_named() -> None:
    p = ClipParams(0, 28.0, (255.0, 255.0, 255.0), 32.0, 32.0, 0.0, 3.0, 10.0, 1, 2)
    c = {m: centroids(render_clip(bar_garment(), p, m, 4, 64)) for m in MOTION_CLASSES}
    dx = {m: np.diff([x for x, _ in v]).mean() for m, v in c.items()}
    dy = {m: np.diff([y for _, y in v]).mean() for m, v in c.items()}
    assert dx["right"] == pytest.approx(3, abs=0.2) and dx["left"] == pytest.approx(-3, abs=0.2)
    assert dy["down"] == pytest.approx(3, abs=0.2) and dy["up"] == pytest.approx(-3, abs=0.2)
    assert abs(dx["still"]) + abs(dy["still"]) < 1e-6
    # the cap sits right of the centre: clockwise on screen (y down) moves it down, counter-clockwise up
    assert dy["rotate-cw"] > 0.1 and dy["rotate-ccw"] < -0.1


def test_torus_wraps() -> None:
    p = ClipParams(0, 28.0, (255.0, 255.0, 255.0), 63.0, 32.0, 0.0, 3.0, 10.0, 1, 2)  # centred on the right edge
    f = render_clip(bar_garment(), p, "still", 1, 64)[0].float().mean(-1)
    assert f[:, :8].max() > 200 and f[:, -8:].max() > 200  # the garment shows on both sides


def test_a_single_frame_carries_no_class() -> None:
    """Frame 0 is the same for every class (same draws, the motion only acts from frame 1 on); the start
    position and angle are uniform, so on the torus every frame's distribution is class-independent."""
    garments = tiny_garments()["train"]
    for j in range(3):
        p = sample_params(np.random.default_rng(j), 48, len(garments))
        clips = {m: render_clip(garments[p.garment], p, m, 4, 48) for m in MOTION_CLASSES}
        first = clips["still"][0]
        assert all(torch.equal(c[0], first) for c in clips.values())
        later = [c[1] for m, c in clips.items()]
        assert len({hashlib.sha256(x.numpy().tobytes()).hexdigest() for x in later}) == len(MOTION_CLASSES)
    # the start pose covers the canvas / circle uniformly (and the motion shifts it on the torus)
    ps = [sample_params(np.random.default_rng(1000 + k), 48, 5) for k in range(2000)]
    for values, hi in (([q.x0 for q in ps], 48), ([q.y0 for q in ps], 48), ([q.angle0 for q in ps], 360)):
        counts = np.histogram(values, bins=4, range=(0, hi))[0]
        assert counts.min() > 400, counts


def test_make_videos_layout_and_determinism(tmp_path: Path) -> None:
    kw = dict(per_class_train=2, per_class_val=1, num_frames=6, size=32, seed=3, garments=tiny_garments(),
              progress=False)
    meta = make_videos(tmp_path / "a", **kw)
    make_videos(tmp_path / "b", **kw)
    assert meta["videos"] == {"train": 14, "val": 7} and meta["classes"] == MOTION_CLASSES
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.mp4"))
    assert len(files) == 21 and files[0] == Path("train/down/00000.mp4")
    for f in files:  # same seed: the same bytes
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    make_videos(tmp_path / "c", **{**kw, "seed": 4})
    assert (tmp_path / "c" / files[0]).read_bytes() != (tmp_path / "a" / files[0]).read_bytes()
    # both layouts read back with the same labels
    folder = VideoClipDataset.from_folder(tmp_path / "a" / "train", backend="pyav")
    listed = VideoClipDataset.from_list(tmp_path / "a" / "train.txt", classes=folder.classes, backend="pyav")
    assert folder.classes == MOTION_CLASSES and sorted(folder.samples) == sorted(listed.samples)
    saved = json.loads((tmp_path / "a" / "meta.json").read_text())
    assert saved["hflip_swaps"] == [["left", "right"], ["rotate-ccw", "rotate-cw"]] and saved["bytes"] > 0
    # decoded: frame 0 of a matched set is bitwise the same in every class, frame 5 differs
    f0 = [read_frames(tmp_path / "a" / "val" / m / "00000.mp4", [0, 5], "pyav") for m in MOTION_CLASSES]
    assert all(torch.equal(f[0], f0[0][0]) for f in f0)
    assert sum(torch.equal(f[1], f0[0][1]) for f in f0) == 1


def test_later_frames_have_the_same_distribution_in_every_class() -> None:
    """The mean last frame of each class over many videos is as close to the others as two halves of one
    class are to each other (no class shows through where the garment ends up or how it is turned)."""
    garments, n, size = tiny_garments(8)["train"], 240, 24
    means = {}
    for k, m in enumerate(MOTION_CLASSES):  # independent videos per class
        params = [sample_params(np.random.default_rng([k, j]), size, len(garments)) for j in range(n)]
        last = torch.stack([render_clip(garments[p.garment], p, m, 5, size)[-1].float() for p in params])
        means[m] = (last[: n // 2].mean(0), last[n // 2:].mean(0))
    # E|mean(half a) - mean(half b)| = sqrt(2) E|mean(class a) - mean(class b)| when classes do not differ
    within = np.mean([(a - b).abs().mean().item() for a, b in means.values()]) / 2 ** 0.5
    full = {m: (a + b) / 2 for m, (a, b) in means.items()}
    between = np.mean([(full[a] - full[b]).abs().mean().item() for a in full for b in full if a < b])
    assert between < 1.4 * within, (between, within)  # 1.16 here; a start always at the centre: 6.0


@pytest.mark.skipif(find_fashion_mnist() is None, reason="dataset-fashion-mnist is not installed")
def test_cli_make_videos(tmp_path: Path, capsys) -> None:
    from emov2.cli.main import main

    out = tmp_path / "mv"
    assert main(["data", "make-videos", "--output", str(out), "--per-class-train", "1", "--per-class-val", "1",
                 "--frames", "4", "--size", "32"]) == 0
    text = capsys.readouterr().out
    assert "7 train / 7 val videos, 7 classes" in text and "MiB" in text
    assert len(list(out.rglob("*.mp4"))) == 14
    assert read_frames(out / "train" / "left" / "00000.mp4", [0, 3], "pyav").shape == (2, 32, 32, 3)
