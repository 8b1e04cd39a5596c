"""Image files -> upright 8-bit RGB PIL images, the same way for training, evaluation and prediction.

PIL's own ``convert("RGB")`` gets three cases wrong: 16-bit grey (``I;16``) is clipped at 255 instead of scaled
(a 16-bit PNG comes out almost all white), transparent pixels take whatever colour is stored under them, and the
EXIF orientation of a camera photo is ignored (the image stays on its side). :func:`to_rgb` and
:func:`read_image` handle those; CMYK, palette, grey and 1-bit images go through PIL's conversion.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageOps

__all__ = ["BACKGROUND", "read_image", "to_rgb"]

BACKGROUND = (255, 255, 255)  # transparent pixels are shown over white, as a browser or viewer would
_HIGH_DEPTH = {"I;16", "I;16L", "I;16B", "I;16N", "I"}  # 16-bit grey (PNG/TIFF); "I" is how older Pillow reads it
_ALPHA = {"RGBA", "RGBa", "LA", "La", "PA"}


def to_rgb(im: Image.Image, background: tuple[int, int, int] = BACKGROUND) -> Image.Image:
    """Any PIL image as 8-bit RGB (the image itself when it already is).

    16-bit grey is scaled by 255/65535; transparency (an alpha band, or a palette/colour-key ``transparency``) is
    composited over ``background``; every other mode is converted by PIL.
    """
    if im.mode == "RGB" and "transparency" not in im.info:
        return im
    if im.mode in _HIGH_DEPTH:
        grey = np.clip(np.rint(np.asarray(im, dtype=np.float64) / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if im.mode in _ALPHA or "transparency" in im.info:
        rgba = im.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", im.size, (*background, 255)), rgba).convert("RGB")
    return im.convert("RGB")


def read_image(path: str | os.PathLike, grayscale: bool = False) -> Image.Image:
    """Decode ``path`` fully into an upright 8-bit RGB image (grey repeated to RGB with ``grayscale``).

    Raises whatever the decoder raises for a bad file (``OSError`` for unreadable/truncated data,
    ``PIL.UnidentifiedImageError`` for a non-image, ...): callers decide whether that is fatal.
    """
    with Image.open(path) as im:
        im.load()
        ImageOps.exif_transpose(im, in_place=True)
        rgb = to_rgb(im)  # the loaded image stays usable after the file closes
    return rgb.convert("L").convert("RGB") if grayscale else rgb
