"""Video classification data: a Kinetics-style folder ``split/<class>/*.mp4`` or mmaction2 list files, clips
sampled with UniformSample and transformed per clip.

An item is ``(clip, label)``: clip float (C, T, H, W) (or (V, C, T, H, W) with several views), label int. A
video that cannot be decoded comes back as a :class:`BadVideo` (path and reason) instead of raising, so one bad
file never stops a run: :func:`~emov2.data.video.collate.collate_clips` drops it and
:class:`~emov2.data.video.collate.SkippedVideos` names it once.

Random choices (frame positions, augmentation) come from the global NumPy and torch RNGs. Batches come from the
engine's :class:`~emov2.engine.data.EpochLoader`, whose :class:`~emov2.engine.data.SeededDataset` seeds them
from ``(seed, epoch, index)`` for each item, so an item is the same whichever worker (or none) computes it and
a resumed run continues exactly.
A video shorter than ``clip_len`` is not bad: UniformSample repeats its frames (as mmaction2); only a video
with no decodable frame is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from .decode import VideoDecodeError, open_video, resolve_backend
from .sampling import uniform_sample

__all__ = [
    "VIDEO_EXTENSIONS",
    "BadVideo",
    "VideoClipDataset",
    "read_video_list",
    "scan_video_folder",
]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm")


class BadVideo(NamedTuple):
    """An item whose video could not be read: the file and a one-line reason."""

    path: str
    reason: str


def scan_video_folder(root: str | os.PathLike) -> tuple[list[tuple[str, int]], list[str]]:
    """(path, class index) pairs and the sorted class names of ``root/<class>/<video>`` (.mp4/.avi/.mkv/.webm)."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"video folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise ValueError(f"{root} has no class folders (expected {root}/<class>/<video>)")
    samples: list[tuple[str, int]] = []
    for i, c in enumerate(classes):
        files = sorted(str(p) for p in (root / c).rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
        if not files:
            raise ValueError(f"class folder {root / c} has no videos (looked for {', '.join(VIDEO_EXTENSIONS)})")
        samples.extend((f, i) for f in files)
    return samples, classes


def read_video_list(list_file: str | os.PathLike, root: str | os.PathLike | None = None) -> list[tuple[str, int]]:
    """mmaction2's list file: one ``PATH LABEL`` per line, PATH relative to ``root`` (default: the list file's
    folder; absolute paths are kept). The label is the last field, so paths may contain spaces; blank lines are
    skipped. A malformed line raises ``ValueError`` naming the file and line number."""
    list_file = Path(list_file)
    if not list_file.is_file():
        raise FileNotFoundError(f"list file not found: {list_file}")
    base = Path(root) if root is not None else list_file.parent
    samples: list[tuple[str, int]] = []
    for n, line in enumerate(list_file.read_text().splitlines(), 1):
        text = line.strip()
        if not text:
            continue
        parts = text.rsplit(maxsplit=1)
        if len(parts) != 2:
            raise ValueError(f"{list_file}:{n}: expected 'PATH LABEL', got {text!r}")
        if not parts[1].isdigit():
            raise ValueError(f"{list_file}:{n}: label {parts[1]!r} is not a non-negative integer (line {text!r})")
        samples.append((str(base / parts[0]), int(parts[1])))
    if not samples:
        raise ValueError(f"{list_file} lists no videos")
    if not any(os.path.exists(p) for p, _ in samples):
        raise FileNotFoundError(f"none of the {len(samples)} videos of {list_file} exist under {base} "
                                f"(first: {samples[0][0]}); pass the right root")
    return samples


class VideoClipDataset(Dataset):
    """Clips of labelled videos.

    Args:
        samples: (path, class index) pairs.
        classes: class names (index -> name).
        transform: uint8 frames (T, H, W, 3) -> tensor (see ``build_video_{train,eval}_transform``); None keeps
            the uint8 frames.
        clip_len: frames per clip (the log: 4). num_clips: clips per video (the log: 1).
        train: random UniformSample positions (else the segment middles).
        backend: 'torchcodec', 'pyav' or 'auto' (resolved once, here). device: TorchCodec's decoding device.

    Random positions and augmentation are drawn from the global NumPy / torch RNGs: wrap the dataset in
    :class:`emov2.engine.data.EpochLoader` (or ``SeededDataset``) to key them to ``(seed, epoch, index)``.
    """

    def __init__(self, samples: Sequence[tuple[str, int]], classes: Sequence[str],
                 transform: Callable | None = None, *, clip_len: int = 4, num_clips: int = 1, train: bool = False,
                 backend: str | None = "auto", device: str | torch.device = "cpu") -> None:
        self.samples = [(str(p), int(t)) for p, t in samples]
        self.classes = list(classes)
        bad = [t for _, t in self.samples if not 0 <= t < len(self.classes)]
        if bad:
            raise ValueError(f"label {bad[0]} out of range for {len(self.classes)} classes")
        self.transform, self.clip_len, self.num_clips, self.train = transform, clip_len, num_clips, train
        self.backend, self.device = resolve_backend(backend), device
        self.targets = [t for _, t in self.samples]

    @classmethod
    def from_folder(cls, root: str | os.PathLike, classes: Sequence[str] | None = None, **kwargs) -> VideoClipDataset:
        """``root/<class>/<video>``; ``classes`` (e.g. the train split's) must match the folder's if given."""
        samples, found = scan_video_folder(root)
        if classes is not None and list(classes) != found:
            raise ValueError(f"classes do not match: expected {len(classes)} ({_preview(classes)}), "
                             f"{root} has {len(found)} ({_preview(found)})")
        return cls(samples, found, **kwargs)

    @classmethod
    def from_list(cls, list_file: str | os.PathLike, root: str | os.PathLike | None = None,
                  classes: Sequence[str] | None = None, **kwargs) -> VideoClipDataset:
        """An mmaction2 list file; class names ``classes`` or, without them, ``'0' .. str(max label)``."""
        samples = read_video_list(list_file, root)
        top = max(t for _, t in samples)
        if classes is None:
            classes = [str(i) for i in range(top + 1)]
        elif top >= len(classes):
            raise ValueError(f"{list_file}: label {top} out of range for {len(classes)} classes")
        return cls(samples, classes, **kwargs)

    def __len__(self) -> int:
        return len(self.samples)

    def frame_indices(self, num_frames: int) -> np.ndarray:
        """UniformSample indices ``(num_clips * clip_len,)`` for a video of ``num_frames`` (train: drawn from
        ``np.random``)."""
        return uniform_sample(num_frames, self.clip_len, train=self.train, num_clips=self.num_clips)

    def load(self, index: int) -> tuple[torch.Tensor, np.ndarray]:
        """The sampled uint8 frames ``(num_clips * clip_len, H, W, 3)`` of item ``index`` and their indices
        (before any transform; raises :class:`VideoDecodeError`)."""
        path = self.samples[index][0]
        with open_video(path, self.backend, self.device) as v:
            inds = self.frame_indices(v.info.num_frames)
            return v.frames(inds.tolist()), inds

    def __getitem__(self, index: int):
        index = int(index)
        try:
            frames, _ = self.load(index)
        except VideoDecodeError as e:
            return BadVideo(self.samples[index][0], str(e))
        label = self.samples[index][1]
        if self.transform is None:
            return frames, label
        clips = [self.transform(c) for c in frames.split(self.clip_len)]
        if len(clips) == 1:
            return clips[0], label
        return (torch.stack(clips) if clips[0].ndim == 4 else torch.cat(clips)), label


def _preview(names: Sequence[str], n: int = 4) -> str:
    names = list(names)
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")
