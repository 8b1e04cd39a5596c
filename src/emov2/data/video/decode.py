"""Video decoding through TorchCodec (CPU, or CUDA/NVDEC when available) with PyAV as the fallback.

One small API, the backend chosen once (an argument, or ``"auto"``: TorchCodec when it can load FFmpeg,
else PyAV)::

    info = video_info("a.mp4")                      # VideoInfo(num_frames=..., height=..., width=..., fps=...)
    frames = read_frames("a.mp4", [0, 5, 9])        # uint8 (3, H, W, 3)
    with open_video("a.mp4", backend="pyav") as v:  # one open for the count and the frames
        frames = v.frames(range(v.info.num_frames))

Frame counts are exact: TorchCodec scans the file (``seek_mode="exact"``), PyAV counts the stream's packets
(no decoding). TorchCodec needs FFmpeg 4-9 shared libraries from the system (Debian: ``libavcodec59`` ...);
PyAV wheels bundle their own FFmpeg. Every failure (missing, empty, garbage or truncated file; no video
stream; an index past the frames that decode) raises :class:`VideoDecodeError` with one line naming the path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "BACKENDS",
    "VideoDecodeError",
    "VideoInfo",
    "VideoReader",
    "available_backends",
    "backend_status",
    "num_frames",
    "open_video",
    "read_frames",
    "resolve_backend",
    "video_info",
]

BACKENDS = ("torchcodec", "pyav")
_INSTALL_HINT = 'pip install "emov2[video]" (PyAV; TorchCodec also needs the system FFmpeg libraries)'


class VideoDecodeError(ValueError):
    """A video that cannot be opened or decoded; the message is one line naming the file."""


@dataclass(frozen=True)
class VideoInfo:
    """Metadata of a file's first video stream (``fps``/``duration``/``codec`` are None when unknown)."""

    num_frames: int
    height: int
    width: int
    fps: float | None = None
    duration: float | None = None
    codec: str | None = None


@cache
def backend_status(backend: str) -> str | None:
    """None when ``backend`` can decode here, else the reason it cannot (checked once per process)."""
    if backend == "pyav":
        try:
            import av  # noqa: F401
        except ImportError as e:
            return f"PyAV is not installed ({e})"
        return None
    if backend == "torchcodec":
        try:
            import torchcodec
            from torchcodec.decoders import VideoDecoder  # noqa: F401
        except Exception as e:  # ImportError, or a RuntimeError/OSError from its native libraries
            return f"TorchCodec cannot be imported ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        if getattr(torchcodec, "ffmpeg_major_version", None) is None:
            return ("TorchCodec found no FFmpeg 4-9 shared libraries (install the system FFmpeg libraries, e.g. "
                    "Debian's libavcodec59 libavformat59 libavdevice59 libavfilter8 libswscale6)")
        return None
    raise ValueError(f"unknown video backend {backend!r}; expected one of {', '.join(BACKENDS)} or 'auto'")


def available_backends() -> list[str]:
    """The backends that can decode here, in order of preference."""
    return [b for b in BACKENDS if backend_status(b) is None]


def resolve_backend(backend: str | None = "auto") -> str:
    """``"auto"``/None -> the first available backend; a named one is checked and returned."""
    if backend in (None, "auto"):
        found = available_backends()
        if not found:
            raise ImportError(f"no video decoder available: {_INSTALL_HINT}")
        return found[0]
    reason = backend_status(backend)
    if reason is not None:
        raise ImportError(f"video backend {backend!r} is not usable: {reason}")
    return backend


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


def _check_indices(path: str, indices: Sequence[int], n: int) -> list[int]:
    idx = [int(i) for i in indices]
    if not idx:
        raise ValueError(f"{path}: no frame indices given")
    bad = [i for i in idx if not 0 <= i < n]
    if bad:
        raise VideoDecodeError(f"{path}: frame index {bad[0]} out of range (the video has {n} frames)")
    return idx


class VideoReader:
    """An open video: ``info`` (a :class:`VideoInfo`) and ``frames(indices) -> uint8 (T, H, W, 3)``.

    Indices may repeat and come in any order. Use as a context manager or call ``close()``.
    """

    backend: str
    path: str
    info: VideoInfo

    def frames(self, indices: Sequence[int]) -> torch.Tensor:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _TorchCodecReader(VideoReader):
    backend = "torchcodec"

    def __init__(self, path: str, device: str | torch.device = "cpu") -> None:
        from torchcodec.decoders import VideoDecoder

        self.path = path
        try:
            self._dec = VideoDecoder(path, dimension_order="NHWC", device=str(device), seek_mode="exact")
            m = self._dec.metadata
            n = int(m.num_frames or 0)
        except Exception as e:  # TorchCodec raises RuntimeError/ValueError for every kind of bad file
            raise VideoDecodeError(f"{path}: cannot open video ({_one_line(e)})") from None
        if n < 1:
            raise VideoDecodeError(f"{path}: no decodable video frames")
        self.info = VideoInfo(n, int(m.height), int(m.width), _maybe(m.average_fps), _maybe(m.duration_seconds),
                              m.codec)

    def frames(self, indices: Sequence[int]) -> torch.Tensor:
        idx = _check_indices(self.path, indices, self.info.num_frames)
        try:
            return self._dec.get_frames_at(idx).data
        except Exception as e:
            raise VideoDecodeError(f"{self.path}: cannot decode frames {idx} ({_one_line(e)})") from None


class _PyAVReader(VideoReader):
    backend = "pyav"

    def __init__(self, path: str) -> None:
        import av
        from av.error import FFmpegError

        self.path = path
        try:
            with av.open(path) as c:
                if not c.streams.video:
                    raise VideoDecodeError(f"{path}: no video stream")
                s = c.streams.video[0]
                h, w, rate, codec = s.codec_context.height, s.codec_context.width, s.average_rate, s.codec_context.name
                dur = float(s.duration * s.time_base) if s.duration is not None and s.time_base else None
                if dur is None and c.duration is not None:
                    dur = c.duration / av.time_base
                n = sum(1 for p in c.demux(s) if p.size > 0)
        except VideoDecodeError:
            raise
        except (FFmpegError, OSError, ValueError, RuntimeError) as e:
            raise VideoDecodeError(f"{path}: cannot open video ({_one_line(e)})") from None
        if n < 1:
            raise VideoDecodeError(f"{path}: no decodable video frames")
        self.info = VideoInfo(n, int(h), int(w), float(rate) if rate else None, dur, codec)

    def frames(self, indices: Sequence[int]) -> torch.Tensor:
        import av
        from av.error import FFmpegError

        idx = _check_indices(self.path, indices, self.info.num_frames)
        wanted, last, got = set(idx), max(idx), {}
        k = -1
        try:
            with av.open(self.path) as c:
                s = c.streams.video[0]
                for k, frame in enumerate(c.decode(s)):  # noqa: B007 (k is read after the loop)
                    if k in wanted:
                        got[k] = frame.to_ndarray(format="rgb24")
                    if k >= last:
                        break
        except (FFmpegError, OSError, ValueError, RuntimeError) as e:
            raise VideoDecodeError(f"{self.path}: decoding failed after {k + 1} frames ({_one_line(e)})") from None
        if len(got) < len(wanted):
            raise VideoDecodeError(f"{self.path}: only {k + 1} frames decode, frame {last} requested "
                                   f"(the stream has {self.info.num_frames} packets)")
        return torch.from_numpy(np.stack([got[i] for i in idx]))


def _maybe(x) -> float | None:
    return None if x is None else float(x)


def open_video(path: str | os.PathLike, backend: str | None = "auto",
               device: str | torch.device = "cpu") -> VideoReader:
    """Open ``path`` with ``backend`` ('torchcodec', 'pyav' or 'auto'). ``device='cuda'`` decodes on the GPU
    (TorchCodec only; the frames come back on that device)."""
    backend = resolve_backend(backend)
    path = str(path)
    if not Path(path).is_file():
        raise VideoDecodeError(f"{path}: video file not found")
    if backend == "torchcodec":
        return _TorchCodecReader(path, device)
    if torch.device(device).type != "cpu":
        raise ValueError(f"PyAV decodes on the CPU only, got device={device!r} (use backend='torchcodec')")
    return _PyAVReader(path)


def read_frames(path: str | os.PathLike, indices: Sequence[int], backend: str | None = "auto",
                device: str | torch.device = "cpu") -> torch.Tensor:
    """Frames ``indices`` of ``path`` as uint8 ``(len(indices), H, W, 3)`` RGB."""
    with open_video(path, backend, device) as v:
        return v.frames(indices)


def video_info(path: str | os.PathLike, backend: str | None = "auto") -> VideoInfo:
    """The :class:`VideoInfo` of ``path`` (exact frame count)."""
    with open_video(path, backend) as v:
        return v.info


def num_frames(path: str | os.PathLike, backend: str | None = "auto") -> int:
    """The exact number of frames of ``path``."""
    return video_info(path, backend).num_frames
