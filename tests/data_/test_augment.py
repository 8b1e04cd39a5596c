"""The paper's RandAugment never raises, and its posterize op still posterizes at every level."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
import torch
from PIL import Image
from timm.data.auto_augment import AugmentOp, RandAugment

from emov2.data.augment import ClampedBits, fix_posterize, posterize_ops
from emov2.data.transforms import ToRGB, build_train_transform

RECIPE = "rand-m9-mstd0.5-inc1"


def _posterize_reference(img: Image.Image, bits: int) -> np.ndarray:
    """Keep the ``bits`` most significant bits of every channel (what posterize means)."""
    return np.asarray(img) & np.uint8((0xFF << (8 - bits)) & 0xFF)


def test_recipe_rand_augment_never_raises_over_50k_images() -> None:
    tf = build_train_transform(16, auto_augment=RECIPE)
    ra = next(t for t in tf.transforms if isinstance(t, RandAugment))
    (op,) = posterize_ops(ra)
    assert op.name == "PosterizeIncreasing" and op.magnitude == 9 and op.magnitude_std == 0.5
    levels, clamped = [], op.level_fn
    op.level_fn = lambda level, hp: (levels.append(level), clamped(level, hp))[1]  # spy on the magnitudes drawn
    rng = np.random.default_rng(0)
    rgb = [Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)) for _ in range(16)]
    grey = [ToRGB()(Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8), "L")) for _ in range(16)]
    random.seed(0)
    np.random.seed(0)
    for i in range(50_000):
        out = ra((rgb if i % 2 else grey)[i % 16])
    assert out.size == (16, 16)
    # the draws reached magnitude 10, where timm's own level function asks Pillow for 0 bits
    assert sum(level >= 10 for level in levels) >= 20 and max(levels) == 10


@pytest.mark.parametrize("magnitude", np.linspace(0, 10, 41).tolist())
def test_recipe_posterize_changes_images_at_every_level(magnitude: float) -> None:
    (op,) = posterize_ops(build_train_transform(16, auto_augment=RECIPE))
    (bits,) = op.level_fn(magnitude, op.hparams)
    timm_bits = 4 - int(magnitude / 10 * 4)  # timm's PosterizeIncreasing mapping, unclamped
    assert bits == max(1, timm_bits)  # only the 0-bit level moves (to 1 bit)
    img = Image.fromarray(np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    fixed = AugmentOp(op.name, prob=1.0, magnitude=magnitude, hparams={**op.hparams, "magnitude_std": 0})
    out = np.asarray(fix_posterize(fixed)(img))
    assert not np.array_equal(out, np.asarray(img))
    assert np.array_equal(out, _posterize_reference(img, bits))


@pytest.mark.parametrize("aa", ["rand-m9-mstd0.5-inc1", "rand-m9-mstd0.5", "v0", "v0r", "original", "augmix-m10"])
def test_every_posterize_variant_stays_in_valid_bits(aa: str) -> None:
    ops = posterize_ops(build_train_transform(16, auto_augment=aa))
    assert ops and all(isinstance(op.level_fn, ClampedBits) for op in ops)
    img = Image.fromarray(np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    for op in ops:
        for m in np.linspace(0, 10, 21):
            (bits,) = op.level_fn(m, op.hparams)
            assert 1 <= bits <= 8, (aa, op.name, m, bits)
            fixed = fix_posterize(AugmentOp(op.name, prob=1.0, magnitude=m, hparams={"magnitude_std": 0}))
            assert np.array_equal(np.asarray(fixed(img)), _posterize_reference(img, bits))


def test_fix_is_idempotent_and_survives_pickling() -> None:
    tf = build_train_transform(16)
    (op,) = posterize_ops(fix_posterize(tf))
    assert isinstance(op.level_fn, ClampedBits) and not isinstance(op.level_fn.level_fn, ClampedBits)
    (copy,) = posterize_ops(pickle.loads(pickle.dumps(tf)))  # DataLoader workers started with spawn
    assert copy.level_fn(10, copy.hparams) == (1,)


@pytest.mark.parametrize("mode", ["RGB", "L", "I;16", "P", "RGBA", "LA", "CMYK", "1"])
def test_train_transform_takes_any_mode(mode: str) -> None:
    rng = np.random.default_rng(3)
    base = Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8))
    img = base.convert(mode) if mode != "I;16" else Image.fromarray(rng.integers(0, 65536, (20, 24), dtype=np.uint16))
    tf = build_train_transform(16)
    random.seed(0)
    np.random.seed(0)
    for _ in range(300):
        x = tf(img)
        assert x.shape == (3, 16, 16) and x.dtype == torch.float32 and torch.isfinite(x).all()
