"""timm's RandAugment / AutoAugment / AugMix with every posterize level kept inside Pillow's valid 1-8 bits.

timm 1.0.31 maps magnitude 10 of ``PosterizeIncreasing`` to 0 bits (``4 - int(10 / 10 * 4)``), and magnitudes
below 2.5 of ``Posterize`` to 0 bits too. Pillow 13 raises ``ValueError: bits must be between or equal to 1
and 8`` for 0 bits. The paper's ``rand-m9-mstd0.5-inc1`` draws the magnitude from N(9, 0.5) clipped to
[0, 10], so it asks for 0 bits in about 0.2% of images and kills the DataLoader worker within the first few
hundred images of an ImageNet epoch. This module is the one place that works around it: it swaps the level
function of each posterize op for the same timm function clamped to 1-8 bits. Every other level, every other op
and the op list stay timm's, so the change is only at the levels that used to raise (0 bits -> 1 bit, the
strongest posterize Pillow accepts).
"""

from __future__ import annotations

from timm.data import auto_augment as _aa
from torchvision import transforms as _tv

__all__ = ["fix_posterize", "posterize_ops", "rand_augment"]


class ClampedBits:
    """A timm posterize level function with its bit count clamped to ``[1, 8]`` (picklable for workers)."""

    def __init__(self, level_fn) -> None:
        self.level_fn = level_fn

    def __call__(self, level: float, hparams: dict) -> tuple[int]:
        (bits,) = self.level_fn(level, hparams)
        return (min(8, max(1, int(bits))),)

    def __repr__(self) -> str:
        return f"ClampedBits({getattr(self.level_fn, '__name__', self.level_fn)})"


def _augment_ops(transform):
    """Every timm ``AugmentOp`` inside ``transform`` (a Compose, RandAugment, AutoAugment, AugMix or an op)."""
    if isinstance(transform, _aa.AugmentOp):
        yield transform
    elif isinstance(transform, _tv.Compose):
        for t in transform.transforms:
            yield from _augment_ops(t)
    elif isinstance(transform, (_aa.RandAugment, _aa.AugMixAugment)):
        for op in transform.ops:
            yield from _augment_ops(op)
    elif isinstance(transform, _aa.AutoAugment):
        for sub_policy in transform.policy:
            for op in sub_policy:
                yield from _augment_ops(op)


def posterize_ops(transform) -> list:
    """The posterize ops (``Posterize``, ``PosterizeIncreasing``, ``PosterizeOriginal``) inside ``transform``."""
    return [op for op in _augment_ops(transform) if op.aug_fn is _aa.posterize]


def fix_posterize(transform):
    """Clamp, in place, the level of every posterize op inside ``transform`` to 1-8 bits; returns ``transform``.

    Idempotent; transforms without timm augment ops are returned unchanged.
    """
    for op in posterize_ops(transform):
        if not isinstance(op.level_fn, ClampedBits):
            op.level_fn = ClampedBits(op.level_fn)
    return transform


def rand_augment(config_str: str = "rand-m9-mstd0.5-inc1", hparams: dict | None = None):
    """timm's ``rand_augment_transform(config_str, hparams)`` (PIL image -> PIL image) that never asks for 0 bits."""
    return fix_posterize(_aa.rand_augment_transform(config_str, hparams))
