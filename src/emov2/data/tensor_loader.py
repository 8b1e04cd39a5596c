"""A batch loader over an in-memory uint8 image tensor with batched augmentation (no per-image PIL work).

Used for the embedded Fashion-MNIST set: the 60,000 grey images are resized once to the training size and
then every batch is cut, flipped and normalised as whole tensors, which keeps a 2-core CPU busy with the
model rather than with Python. The order of an epoch depends only on ``(seed, epoch)``, so a resumed run
sees the same batches as an uninterrupted one; under DDP each rank takes every ``world``-th sample.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F

__all__ = ["TensorLoader", "resize_uint8"]


def resize_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    """(N, H, W) uint8 -> (N, size, size) uint8, bilinear with antialias (in chunks to bound memory)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = []
    for chunk in images.split(8192):
        x = F.interpolate(chunk[:, None].float(), size=(size, size), mode="bilinear", antialias=True,
                          align_corners=False)
        out.append(x[:, 0].round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)


class TensorLoader:
    """Iterates ``(images, labels)`` batches: images (B, 3, S, S) float normalised, labels (B,) int64.

    Args:
        images: (N, S, S) uint8 grey images, already at the model's input size S.
        labels: (N,) int64 class indices.
        batch_size: per-process batch size.
        train: shuffle, random crop with ``pad`` pixels of zero padding and horizontal flip; drop the last
            incomplete batch. Otherwise: fixed order, no augmentation, keep every sample.
        mean, std: normalisation (one value per channel; the grey image is repeated to 3 channels).
        seed: base seed of the epochs' orders and augmentation.
        rank, world_size: shard for DDP (rank takes samples ``rank::world_size`` of the epoch's order).
        channels_last: return channels-last tensors.
    """

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, *, train: bool, pad: int = 4,
        hflip: float = 0.5, mean: Sequence[float] = (0.5,) * 3, std: Sequence[float] = (0.5,) * 3,
        seed: int = 0, rank: int = 0, world_size: int = 1, channels_last: bool = False,
    ) -> None:
        if images.ndim != 3 or images.dtype != torch.uint8:
            raise ValueError(f"expected (N, S, S) uint8 images, got {tuple(images.shape)} {images.dtype}")
        self.images, self.labels = images, labels
        self.batch_size, self.train, self.pad, self.hflip = batch_size, train, pad, hflip
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1) * 255
        self.std = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1) * 255
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.channels_last = channels_last
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.start = epoch, 0

    def set_start(self, batches: int) -> None:
        """Begin the current epoch's next pass at batch ``batches``."""
        self.start = batches

    def _indices(self) -> torch.Tensor:
        n = len(self.labels)
        if not self.train:
            return torch.arange(self.rank, n, self.world_size)
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) % (1 << 62))
        order = torch.randperm(n, generator=g)
        per_step = self.batch_size * self.world_size
        order = order[: (n // per_step) * per_step]
        return order[self.rank::self.world_size]

    def __len__(self) -> int:
        n = len(self.labels)
        if self.train:
            return n // (self.batch_size * self.world_size)
        return math.ceil(len(range(self.rank, n, self.world_size)) / self.batch_size)

    def epoch_indices(self) -> list[int]:
        """The sample indices this rank reads in the current epoch (whole batches when training)."""
        idx = self._indices()
        if self.train:
            idx = idx[: (len(idx) // self.batch_size) * self.batch_size]
        return idx.tolist()

    @property
    def num_samples(self) -> int:
        """Samples this process sees per epoch."""
        return len(self._indices())

    def _augment(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """(B, S, S) uint8 -> (B, S, S) uint8: random crop of the zero-padded image, random flip."""
        b, s = x.shape[0], x.shape[-1]
        if self.pad:
            padded = F.pad(x, (self.pad,) * 4)
            oy = torch.randint(0, 2 * self.pad + 1, (b, 1), generator=g)
            ox = torch.randint(0, 2 * self.pad + 1, (b, 1), generator=g)
            ar = torch.arange(s)
            rows, cols = (oy + ar)[:, :, None], (ox + ar)[:, None, :]  # (B, S, 1), (B, 1, S)
            x = padded[torch.arange(b)[:, None, None], rows, cols]
        if self.hflip > 0:
            flip = torch.rand(b, generator=g) < self.hflip
            x = torch.where(flip[:, None, None], x.flip(-1), x)
        return x

    def _to_input(self, x: torch.Tensor) -> torch.Tensor:
        """(B, S, S) uint8 -> (B, 3, S, S) float normalised."""
        x = (x[:, None].float().expand(-1, 3, -1, -1) - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        idx, first, epoch = self._indices(), self.start, self.epoch
        self.start = 0
        for b, start in enumerate(range(first * self.batch_size, len(idx), self.batch_size), start=first):
            sel = idx[start: start + self.batch_size]
            if self.train and len(sel) < self.batch_size:
                break
            x = self.images[sel]
            if self.train:
                key = ((self.seed * 100_003 + epoch) * 1_000_003 + b) * 64 + self.rank
                g = torch.Generator().manual_seed(key % (1 << 62))
                x = self._augment(x, g)
            yield self._to_input(x), self.labels[sel]
