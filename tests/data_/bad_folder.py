"""An ImageNet-layout folder holding every kind of bad or awkward file, and what each should become."""

from __future__ import annotations

import io
import os
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

# class names with a space and a non-ASCII letter (written NFC: a single U+00E9)
CLASSES = ("café", "green", "red apple")
COLOURS = {"café": (120, 70, 30), "green": (20, 200, 40), "red apple": (210, 20, 30)}

CONVERTED = ("cmyk.jpg", "deep16.png", "palette_alpha.png", "palette_alpha_bytes.png", "tiny.png", "rotated.jpg")
SKIPPED = ("empty.jpg", "truncated.jpg", "io_error.jpg")
IGNORED = ("notes.txt", ".DS_Store", "._photo.jpg", "pipe.jpg")


def noisy(colour, size=(32, 32), seed=0) -> Image.Image:
    """A solid colour with +-20 noise (RGB)."""
    rng = np.random.default_rng(seed)
    a = np.clip(np.array(colour)[None, None] + rng.integers(-20, 21, (size[1], size[0], 3)), 0, 255)
    return Image.fromarray(a.astype(np.uint8))


def png16_grey(a: np.ndarray) -> bytes:
    """A 16-bit greyscale PNG of the (H, W) uint16 array ``a`` (written by hand: bit depth 16, colour type 0)."""
    h, w = a.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    raw = b"".join(b"\x00" + a[y].astype(">u2").tobytes() for y in range(h))
    header = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([16, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def deep16_array() -> np.ndarray:
    return (np.arange(16 * 16, dtype=np.uint32).reshape(16, 16) * 257).astype(np.uint16)  # 0 .. 65535 in 256 steps


def exif_stored_array() -> np.ndarray:
    """(20, 30, 3) as stored on disk: four quadrants of distinct colours."""
    a = np.zeros((20, 30, 3), np.uint8)
    a[:10, :15], a[:10, 15:], a[10:, :15], a[10:, 15:] = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)
    return a


def write_converted(d: Path) -> None:
    """The files that must be read correctly, into folder ``d``."""
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(d / "cmyk.jpg", quality=95)  # pure red in CMYK
    (d / "deep16.png").write_bytes(png16_grey(deep16_array()))
    idx = np.zeros((8, 8), np.uint8)
    idx[:4] = 1
    pal = Image.fromarray(idx, "P")
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)  # index 0 black (transparent), index 1 red
    pal.save(d / "palette_alpha.png", transparency=0)
    pal.save(d / "palette_alpha_bytes.png", transparency=b"\x00\x80")  # index 1 half transparent
    Image.new("RGB", (1, 1), (7, 8, 9)).save(d / "tiny.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to show
    Image.fromarray(exif_stored_array()).save(d / "rotated.jpg", quality=95, exif=exif)


def write_skipped(d: Path) -> None:
    """The files that cannot be decoded and must be skipped and counted, into folder ``d``."""
    (d / "empty.jpg").write_bytes(b"")
    buf = io.BytesIO()
    noisy((90, 90, 90), (64, 64), seed=5).save(buf, "JPEG", quality=90)
    (d / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    # reading /proc/self/mem at offset 0 fails with EIO even for root: a stand-in for a bad disk sector
    os.symlink("/proc/self/mem", d / "io_error.jpg")


def write_ignored(d: Path) -> None:
    """Files that are not samples, into folder ``d``."""
    (d / "notes.txt").write_text("labelled by hand\n")
    (d / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (d / "._photo.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # macOS resource fork next to photo.jpg
    os.mkfifo(d / "pipe.jpg")  # opening it would block forever


def make_bad_folder(root: Path, per_class: int = 8, seed: int = 0) -> Path:
    """root/{train,val}/<class>/: ``per_class`` good images per class, plus in train/ the CONVERTED files (green),
    the SKIPPED files (red apple), the IGNORED files (café) and two symlink loops (green/loop -> the train root,
    café/self -> café)."""
    for split, n in (("train", per_class), ("val", max(2, per_class // 2))):
        for ci, c in enumerate(CLASSES):
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(n):
                noisy(COLOURS[c], seed=seed + 100 * ci + i + (0 if split == "train" else 50)).save(d / f"{i}.png")
    train = root / "train"
    write_converted(train / "green")
    write_skipped(train / "red apple")
    write_ignored(train / "café")
    os.symlink("..", train / "green" / "loop")
    os.symlink(".", train / "café" / "self")
    return root
