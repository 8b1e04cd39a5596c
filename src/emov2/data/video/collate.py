"""Batches of clips that skip unreadable videos: the collate function (DataLoader side) and the counter that
names each unreadable video once (in the process that consumes the batches, so DataLoader workers, which
run the collate, never repeat a name).

Batches are ``(clips, labels, bad)``: clips float (B, C, T, H, W) (or (B, V, C, T, H, W) with V views per
video), labels (B,) int64, ``bad`` the :class:`~emov2.data.video.datasets.BadVideo` items dropped from this
batch (``clips``/``labels`` are None when all were). The order, sharding and per-item seeding are the engine's
(:class:`emov2.engine.data.EpochLoader`).
"""

from __future__ import annotations

import logging

import torch

from .datasets import BadVideo

__all__ = ["SkippedVideos", "collate_clips"]

log = logging.getLogger(__name__)


def collate_clips(batch: list) -> tuple[torch.Tensor | None, torch.Tensor | None, list[BadVideo]]:
    """Stack the readable items; returns (clips, labels, the :class:`BadVideo` items dropped)."""
    bad = [b for b in batch if b is None or isinstance(b, BadVideo)]
    good = [b for b in batch if not (b is None or isinstance(b, BadVideo))]
    if not good:
        return None, None, bad
    return torch.stack([g[0] for g in good]), torch.tensor([g[1] for g in good], dtype=torch.int64), bad


class SkippedVideos:
    """Counts the unreadable videos of the batches it is shown and logs one warning line per file, the first time
    it is seen (``skipping unreadable video PATH: reason``)."""

    def __init__(self) -> None:
        self.named: set[str] = set()
        self.total = 0

    def __call__(self, bad: list) -> int:
        """Record a batch's dropped items; returns how many there were."""
        for b in bad:
            if isinstance(b, BadVideo) and b.path not in self.named:
                self.named.add(b.path)
                log.warning("skipping unreadable video %s", b.reason)
        self.total += len(bad)
        return len(bad)
