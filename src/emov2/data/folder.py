"""ImageNet-layout folders (``ROOT/<class>/<image>``) that turn bad input into one clear line, never a crash.

Up front (:func:`scan_image_folder`), with one line naming the path:
  - a missing or empty folder, or a class folder without images: ``FileNotFoundError``/``ValueError``;
  - a validation class that the training classes lack: ``ValueError`` naming the class and both folders
    (:func:`image_folder_splits`; a validation folder may lack some training classes: its labels are looked
    up by class name);
  - files that are not images (``notes.txt``, hidden files such as ``.DS_Store`` or macOS ``._x.jpg``, pipes,
    dangling links) are not samples: one logged line counts them and names a few;
  - a symlink that leads back to a folder already walked (a loop, the data root, another class folder) is not
    followed: one logged line names it.
While loading: an image that cannot be decoded (empty, truncated, unreadable, not really an image) makes the
dataset return ``None`` and log one line naming the file and the reason (the first :data:`MAX_NAMED` per
process); :func:`collate_skip_bad` drops and counts those, and the trainer reports the count (stopping only when
every image is bad). Images that decode are read upright in 8-bit RGB by :func:`emov2.data.decode.read_image`
(EXIF orientation, CMYK, 16-bit grey, palette and transparency, any size down to 1x1).
"""

from __future__ import annotations

import logging
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from .decode import read_image

__all__ = ["IMG_EXTENSIONS", "MAX_NAMED", "FolderScan", "ImageFolderChecked", "collate_skip_bad",
           "image_folder_splits", "scan_image_folder"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
MAX_NAMED = 20  # unreadable images named per process; later ones are only counted

_log = logging.getLogger(__name__)
_named: set[str] = set()  # unreadable images named so far in this process
_said_more: list[bool] = [False]


@dataclass
class FolderScan:
    """What :func:`scan_image_folder` found: samples ``(path, class index)`` sorted by path within each class,
    sorted class names, ``ignored`` ``(path, why)`` files that are not samples, and ``skipped_dirs``
    ``(path, why)`` folders that were not walked."""

    samples: list[tuple[str, int]]
    classes: list[str]
    ignored: list[tuple[str, str]] = field(default_factory=list)
    skipped_dirs: list[tuple[str, str]] = field(default_factory=list)


def _key(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _preview(names: list[str], n: int = 4) -> str:
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "")


def _nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)  # macOS writes decomposed names: "é" may be e + U+0301


def _classify(entry: os.DirEntry) -> str | None:
    """Why a non-folder entry is not a sample, or None for an image file."""
    if entry.name.startswith("."):
        return "hidden file"
    if not entry.is_file():
        return "dangling link" if entry.is_symlink() and not os.path.exists(entry.path) else "not a regular file"
    if os.path.splitext(entry.name)[1].lower() not in IMG_EXTENSIONS:
        return "not an image file"
    return None


def _walk_class(cdir: str, visited: dict, scan: FolderScan) -> list[str]:
    """Image files under ``cdir`` (following symlinks, each real folder at most once)."""
    files, stack = [], [cdir]
    while stack:
        d = stack.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as e:
            if d == cdir:
                raise OSError(f"cannot list class folder {d}: {e.strerror}") from None
            scan.skipped_dirs.append((d, f"cannot list it: {e.strerror}"))
            continue
        for entry in entries:
            if entry.is_dir():
                if entry.name.startswith("."):
                    scan.ignored.append((entry.path + os.sep, "hidden folder"))
                    continue
                key = _key(entry.path)
                if key in visited:
                    scan.skipped_dirs.append((entry.path, f"it leads to {visited[key]} (a symlink loop or a "
                                                          "duplicate), not followed"))
                    continue
                visited[key] = f"{os.path.realpath(entry.path)}, already walked as {entry.path}"
                stack.append(entry.path)
            elif (why := _classify(entry)) is None:
                files.append(entry.path)
            else:
                scan.ignored.append((entry.path, why))
    return sorted(files)


def scan_image_folder(root: str | os.PathLike, *, report: bool = True) -> FolderScan:
    """Scan ``root/<class>/<image>`` (images may sit in sub-folders of a class folder; links are followed).

    With ``report``, logs one line for the ignored files and one per folder not walked.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"data folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    scan = FolderScan([], [])
    visited = {_key(str(root)): f"the data root {root}"}
    class_dirs = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if not entry.is_dir():
            scan.ignored.append((entry.path, _classify(entry) or "image outside a class folder"))
        elif entry.name.startswith("."):
            scan.ignored.append((entry.path + os.sep, "hidden folder"))
        elif (key := _key(entry.path)) in visited:
            scan.skipped_dirs.append((entry.path, f"it leads to {visited[key]} (a symlink loop or a duplicate), "
                                                  "not a class"))
        else:
            visited[key] = f"the class folder {entry.path}"
            class_dirs.append(entry)
    if not class_dirs:
        raise ValueError(f"{root} has no class folders (expected {root}/<class>/<image>)")
    scan.classes = [e.name for e in class_dirs]
    for i, entry in enumerate(class_dirs):
        files = _walk_class(entry.path, visited, scan)
        if not files:
            raise ValueError(f"class folder {entry.path} has no images (looked for {', '.join(IMG_EXTENSIONS)})")
        scan.samples.extend((f, i) for f in files)
    if report:
        if scan.ignored:
            names = [f"{os.path.relpath(p, root)} ({why})" for p, why in scan.ignored]
            _log.warning("ignored %d file(s) under %s that are not images: %s", len(names), root, _preview(names, 5))
        for path, why in scan.skipped_dirs:
            _log.warning("skipped folder %s: %s", path, why)
    return scan


def _report_unreadable(path: str, error: Exception) -> None:
    """One line naming ``path`` and why it cannot be read (once per path, at most MAX_NAMED per process)."""
    if path in _named:
        return
    if len(_named) >= MAX_NAMED:
        if not _said_more[0]:
            _said_more[0] = True
            _log.warning("more than %d unreadable images: the others are skipped and counted, not named", MAX_NAMED)
        return
    _named.add(path)
    try:  # PIL says "cannot identify image file" for an empty file; say what it is
        empty = isinstance(error, UnidentifiedImageError) and os.path.getsize(path) == 0
    except OSError:
        empty = False
    reason = "empty file (0 bytes)" if empty else f"{type(error).__name__}: {error}"
    _log.warning("skipping unreadable image %s: %s", path, reason[:300])


class ImageFolderChecked(Dataset):
    """``ROOT/<class>/<image>`` as ``(image tensor, class index)``; ``None`` for an image that cannot be decoded.

    Args:
        root: the folder (one sub-folder per class).
        transform: PIL image -> tensor.
        classes: the class names to index by (a checkpoint's, or the training folder's for a validation folder):
            labels are looked up by name, and a class folder that is not among them raises ``ValueError``.
        grayscale: read images as grey and repeat them to RGB (models trained on grey data).
        classes_from: where ``classes`` came from, for the error message.
    """

    def __init__(self, root: str | os.PathLike, transform=None, classes: list[str] | None = None,
                 grayscale: bool = False, classes_from: str = "the expected class list") -> None:
        self.root = Path(root)
        scan = scan_image_folder(root)
        self.ignored, self.skipped_dirs = scan.ignored, scan.skipped_dirs
        if classes is None:
            self.classes, self.samples = scan.classes, scan.samples
        else:
            index = {_nfc(c): i for i, c in enumerate(classes)}
            extra = [c for c in scan.classes if _nfc(c) not in index]
            if extra:
                raise ValueError(
                    f"classes do not match: {self.root} has class folder(s) {', '.join(map(repr, extra[:8]))}"
                    f"{', ...' if len(extra) > 8 else ''} that {classes_from} does not have ({len(classes)} "
                    f"classes: {_preview(list(classes))})")
            missing = sorted(set(index) - {_nfc(c) for c in scan.classes})
            if missing:
                _log.warning("%s has no folder for %d of the %d classes of %s: %s", self.root, len(missing),
                             len(classes), classes_from, _preview(missing))
            to_index = [index[_nfc(c)] for c in scan.classes]
            self.classes, self.samples = list(classes), [(p, to_index[t]) for p, t in scan.samples]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.transform, self.grayscale = transform, grayscale

    @property
    def targets(self) -> list[int]:
        return [t for _, t in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> Image.Image | None:
        """The upright RGB image of sample ``index``, or None (with one logged line) when it cannot be decoded."""
        path = self.samples[index][0]
        try:
            return read_image(path, grayscale=self.grayscale)
        except Exception as e:  # decoders raise many types for bad files (OSError, SyntaxError, ...): each a skip
            _report_unreadable(path, e)
            return None

    def __getitem__(self, index: int):
        im = self.load(index)
        if im is None:
            return None
        return (self.transform(im) if self.transform else im), self.samples[index][1]


def image_folder_splits(root: str | os.PathLike, train_transform=None, eval_transform=None
                        ) -> tuple[ImageFolderChecked, ImageFolderChecked]:
    """``ROOT/train`` and ``ROOT/val`` as datasets, the validation labels indexed by the training classes."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"data folder not found: {root}")
    for split in ("train", "val"):
        if not (root / split).is_dir():
            raise FileNotFoundError(f"{root / split} not found: --data expects DIR/train/<class>/* and "
                                    "DIR/val/<class>/*")
    train = ImageFolderChecked(root / "train", train_transform)
    val = ImageFolderChecked(root / "val", eval_transform, classes=train.classes,
                             classes_from=f"the training folder {root / 'train'}")
    return train, val


def collate_skip_bad(batch: list) -> tuple[torch.Tensor | None, torch.Tensor | None, int]:
    """Stack the good samples; returns (images (B, 3, H, W), labels (B,), number of unreadable samples)."""
    good = [b for b in batch if b is not None]
    bad = len(batch) - len(good)
    if not good:
        return None, None, bad
    return torch.stack([g[0] for g in good]), torch.tensor([g[1] for g in good]), bad
