"""Video decoding (TorchCodec and PyAV) and encoding: round trips, exact frame counts, bad files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("av", reason="PyAV is not installed (pip install 'emov2[video]')")

from emov2.data.video.decode import (  # noqa: E402
    BACKENDS,
    VideoDecodeError,
    backend_status,
    num_frames,
    open_video,
    read_frames,
    resolve_backend,
    video_info,
)
from emov2.data.video.encode import h264_encoder, write_video  # noqa: E402

BACKEND_PARAMS = [pytest.param(b, marks=pytest.mark.skipif(backend_status(b) is not None,
                                                           reason=str(backend_status(b)))) for b in BACKENDS]


def smooth_clip(t: int = 8, h: int = 32, w: int = 32) -> torch.Tensor:
    """uint8 (t, h, w, 3): a colour ramp that shifts every frame (compresses well, every frame different)."""
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    frames = [torch.stack([x * 3 + 16 * i, y * 6, 255 - (x + y) * 3], -1) for i in range(t)]
    return torch.stack(frames).clamp(0, 255).to(torch.uint8)


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory) -> tuple[Path, torch.Tensor]:
    frames = smooth_clip()
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    write_video(path, frames, fps=8)
    return path, frames


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_round_trip(clip_file, backend: str) -> None:
    path, frames = clip_file
    info = video_info(path, backend)
    assert (info.num_frames, info.height, info.width) == (8, 32, 32)
    assert info.fps == pytest.approx(8.0)
    got = read_frames(path, range(8), backend)
    assert got.dtype == torch.uint8 and got.shape == (8, 32, 32, 3)
    err = (got.float() - frames.float()).abs()
    assert err.mean() < 3.0 and err.max() < 24, (err.mean(), err.max())  # the neighbouring frame: 6.6
    # frames come back in the order asked, repeats allowed, each the right one
    sub = read_frames(path, [5, 1, 1, 7], backend)
    assert torch.equal(sub, got[[5, 1, 1, 7]])


def test_backends_agree(clip_file) -> None:
    if any(backend_status(b) for b in BACKENDS):
        pytest.skip("needs both TorchCodec and PyAV")
    path, _ = clip_file
    assert torch.equal(read_frames(path, range(8), "torchcodec"), read_frames(path, range(8), "pyav"))


def test_auto_backend_prefers_torchcodec() -> None:
    want = "torchcodec" if backend_status("torchcodec") is None else "pyav"
    assert resolve_backend("auto") == resolve_backend(None) == want
    with pytest.raises(ValueError, match="unknown video backend"):
        resolve_backend("decord")


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("container, codec", [("mkv", "libx264"), ("webm", "libvpx-vp9"), ("avi", "mpeg4")])
def test_other_containers(tmp_path: Path, backend: str, container: str, codec: str) -> None:
    import av

    path, frames = tmp_path / f"c.{container}", smooth_clip(6)
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=10)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        for im in frames.numpy():
            c.mux(s.encode(av.VideoFrame.from_ndarray(im, format="rgb24")))
        c.mux(s.encode(None))
    assert num_frames(path, backend) == 6
    assert read_frames(path, [0, 5], backend).shape == (2, 32, 32, 3)


def test_encoder_is_deterministic_and_h264(tmp_path: Path) -> None:
    frames = smooth_clip()
    codecs = [write_video(tmp_path / f"{i}.mp4", frames) for i in range(2)]
    assert codecs[0] == (h264_encoder() or "mpeg4")
    digests = {hashlib.sha256((tmp_path / f"{i}.mp4").read_bytes()).hexdigest() for i in range(2)}
    assert len(digests) == 1
    assert video_info(tmp_path / "0.mp4", "pyav").codec == ("h264" if h264_encoder() else "mpeg4")


def test_mpeg4_fallback(tmp_path: Path) -> None:
    frames = smooth_clip()
    assert write_video(tmp_path / "m.mp4", frames, codec="mpeg4") == "mpeg4"
    got = read_frames(tmp_path / "m.mp4", range(8), "pyav")
    assert (got.float() - frames.float()).abs().mean() < 3.0


@pytest.mark.skipif(backend_status("torchcodec") is not None, reason=str(backend_status("torchcodec")))
def test_torchcodec_encoder(tmp_path: Path) -> None:
    frames = smooth_clip()
    write_video(tmp_path / "tc.mp4", frames, backend="torchcodec")
    got = read_frames(tmp_path / "tc.mp4", range(8), "pyav")
    assert (got.float() - frames.float()).abs().mean() < 3.0


def test_write_rejects_bad_frames(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"uint8 frames \(T, H, W, 3\)"):
        write_video(tmp_path / "x.mp4", np.zeros((4, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="must be even"):
        write_video(tmp_path / "x.mp4", np.zeros((4, 31, 32, 3), np.uint8))


def _bad_files(tmp_path: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    files = {"zero-byte": b"", "garbage": np.random.default_rng(0).bytes(3000), "truncated": data[: len(data) // 2]}
    out = {}
    for name, b in files.items():
        out[name] = tmp_path / f"{name}.mp4"
        out[name].write_bytes(b)
    out["missing"] = tmp_path / "missing.mp4"
    return out


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_bad_files_raise_one_line_naming_the_file(tmp_path: Path, clip_file, backend: str) -> None:
    for name, path in _bad_files(tmp_path, clip_file[0]).items():
        with pytest.raises(VideoDecodeError) as e:
            read_frames(path, [0], backend)
        msg = str(e.value)
        assert msg.startswith(str(path)) and "\n" not in msg, (name, msg)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_truncated_streamable_file_keeps_its_complete_frames(tmp_path: Path, backend: str) -> None:
    """moov first (faststart) and the tail cut: the frames that are there count and decode."""
    import av

    frames = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    path = tmp_path / "fs.mp4"
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        for im in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(im, format="rgb24")))
        c.mux(s.encode(None))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])
    with open_video(path, backend) as v:
        n = v.info.num_frames
        assert 1 <= n < 16
        assert v.frames([n - 1]).shape == (1, 32, 32, 3)
        with pytest.raises(VideoDecodeError, match=f"frame index 15 out of range .* {n} frames"):
            v.frames([15])


def test_pyav_has_no_cuda(clip_file) -> None:
    with pytest.raises(ValueError, match="PyAV decodes on the CPU only"):
        open_video(clip_file[0], "pyav", device="cuda")
