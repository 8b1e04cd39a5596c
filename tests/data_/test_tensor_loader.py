"""TensorLoader: shapes, normalisation, per-epoch determinism, DDP sharding, augmentation."""

from __future__ import annotations

import torch

from emov2.data.tensor_loader import TensorLoader, resize_uint8


def _data(n: int = 50, s: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, s, s), generator=g, dtype=torch.uint8), torch.arange(n)


def test_eval_batches_cover_everything_in_order() -> None:
    x, y = _data()
    loader = TensorLoader(x, y, 16, train=False, mean=(0.5,) * 3, std=(0.25,) * 3)
    batches = list(loader)
    assert len(batches) == len(loader) == 4
    imgs = torch.cat([b[0] for b in batches])
    assert imgs.shape == (50, 3, 8, 8) and torch.equal(torch.cat([b[1] for b in batches]), y)
    assert torch.allclose(imgs[:, 1], (x.float() / 255 - 0.5) / 0.25, atol=1e-5)  # grey repeated, normalised


def test_train_order_depends_on_seed_and_epoch_only() -> None:
    x, y = _data()
    a, b = TensorLoader(x, y, 8, train=True, seed=3), TensorLoader(x, y, 8, train=True, seed=3)
    first = [lbl for _, lbl in a]
    assert len(first) == 6  # 50 // 8, last incomplete batch dropped
    assert all(torch.equal(p, q) for p, q in zip(first, [lbl for _, lbl in b], strict=True))
    assert all(torch.equal(p[0], q[0]) for p, q in zip(a, b, strict=True))  # augmentation too
    a.set_epoch(1)
    assert not torch.equal(torch.cat([lbl for _, lbl in a]), torch.cat(first))


def test_ddp_shards_are_disjoint_and_complete() -> None:
    x, y = _data(48)
    seen = [torch.cat([lbl for _, lbl in TensorLoader(x, y, 4, train=True, seed=1, rank=r, world_size=2)])
            for r in range(2)]
    assert len(seen[0]) == len(seen[1]) == 24
    assert sorted(torch.cat(seen).tolist()) == list(range(48))


def test_augmentation_is_a_shifted_or_flipped_copy() -> None:
    x = torch.zeros(64, 8, 8, dtype=torch.uint8)
    x[:, 2:6, 1:3] = 255  # an off-centre bar: flips and shifts move it
    loader = TensorLoader(x, torch.zeros(64, dtype=torch.long), 64, train=True, pad=2, mean=(0,) * 3,
                          std=(1 / 255,) * 3)
    imgs = next(iter(loader))[0][:, 0]
    assert imgs.max() == 255 and imgs.min() == 0
    assert (imgs == 255).sum(dim=(1, 2)).max() <= 8  # never more than the bar; sometimes cut by the crop
    assert len({tuple(im.flatten().tolist()) for im in imgs}) > 5


def test_resize_uint8() -> None:
    x = torch.full((3, 28, 28), 200, dtype=torch.uint8)
    r = resize_uint8(x, 32)
    assert r.shape == (3, 32, 32) and r.dtype == torch.uint8 and (r == 200).all()
