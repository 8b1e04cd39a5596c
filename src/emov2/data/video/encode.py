"""Writing real video files: uint8 (T, H, W, 3) frames -> MP4 (H.264 when the FFmpeg build has an encoder for it,
else MPEG-4 part 2), through PyAV (default; its wheels bundle FFmpeg with libx264) or TorchCodec's encoder.

With PyAV and libx264 the output is deterministic: one encoder thread, constant quality (CRF), and x264's
macroblock tree off, so the intra-coded first frame is encoded from its own pixels alone (with mb-tree on,
x264 lowers the quantiser of blocks that later frames reference, which would leak the motion into frame 0).
Files are written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import os
from functools import cache

import numpy as np
import torch

from ...utils.files import atomic_write

__all__ = ["h264_encoder", "write_video"]


@cache
def h264_encoder() -> str | None:
    """The name of an H.264 encoder in PyAV's FFmpeg ('libx264', 'libopenh264', ...), or None."""
    import av

    for name in ("libx264", "libopenh264", "h264"):
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # av raises UnknownCodecError / ValueError depending on the version
            continue
    return None


def _as_thwc(frames) -> np.ndarray:
    a = frames.cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if a.ndim != 4 or a.shape[-1] != 3 or a.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames (T, H, W, 3), got {a.dtype} {tuple(a.shape)}")
    if a.shape[1] % 2 or a.shape[2] % 2:
        raise ValueError(f"frame size {a.shape[2]}x{a.shape[1]} must be even (4:2:0 chroma)")
    return np.ascontiguousarray(a)


def _write_pyav(tmp: str, a: np.ndarray, fps: int, codec: str, crf: int) -> None:
    import av

    with av.open(tmp, "w", format="mp4") as c:
        opts = {}
        if codec == "libx264":
            opts = {"crf": str(crf), "preset": "medium", "x264-params": "mbtree=0"}
        s = c.add_stream(codec, rate=fps, options=opts)
        s.width, s.height, s.pix_fmt = a.shape[2], a.shape[1], "yuv420p"
        s.codec_context.thread_count = 1
        if codec == "mpeg4":
            s.bit_rate = 40 * a.shape[1] * a.shape[2] * fps  # ~1.6 bits per pixel: near-lossless at these sizes
        for img in a:
            c.mux(s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        c.mux(s.encode(None))


def write_video(path: str | os.PathLike, frames, fps: int = 10, *, codec: str = "auto", crf: int = 18,
                backend: str = "pyav") -> str:
    """Write ``frames`` (uint8 (T, H, W, 3), tensor or array) to the MP4 ``path``; returns the codec used.

    Args:
        codec: 'auto' (H.264 if an encoder exists, else 'mpeg4'), or an FFmpeg encoder name.
        crf: H.264 constant-rate factor (lower is better; 18 is visually lossless).
        backend: 'pyav' or 'torchcodec' (TorchCodec's ``VideoEncoder``; uses the system FFmpeg).
    """
    a = _as_thwc(frames)
    if backend == "pyav":
        if codec == "auto":
            codec = h264_encoder() or "mpeg4"
        atomic_write(path, lambda tmp: _write_pyav(tmp, a, fps, codec, crf))
        return codec
    if backend == "torchcodec":
        from torchcodec.encoders import VideoEncoder

        enc = VideoEncoder(torch.from_numpy(a).permute(0, 3, 1, 2).contiguous(), frame_rate=fps)
        kw = {} if codec == "auto" else {"codec": codec}

        def write(tmp: str) -> None:  # TorchCodec picks the container from the extension
            named = tmp + ".mp4"
            try:
                enc.to_file(named, crf=crf, **kw)
                os.replace(named, tmp)
            finally:
                if os.path.exists(named):
                    os.unlink(named)

        atomic_write(path, write)
        return codec
    raise ValueError(f"unknown encoder backend {backend!r}; expected 'pyav' or 'torchcodec'")
