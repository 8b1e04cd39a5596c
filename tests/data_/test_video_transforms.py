"""The V-EMOv2 clip transforms: shapes, one set of random parameters per clip, crops and normalisation."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import v2

from emov2.data.video.transforms import (
    ThreeCrop,
    ToModelInput,
    build_video_eval_transform,
    build_video_train_transform,
    clip_to_frames,
    video_randaugment,
)


def random_frames(t: int = 4, h: int = 48, w: int = 64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (t, h, w, 3), generator=g, dtype=torch.uint8)


def test_shapes() -> None:
    x = random_frames()
    assert build_video_train_transform(32, 40)(x).shape == (3, 4, 32, 32)
    assert build_video_train_transform()(x).shape == (3, 4, 160, 160)
    val = build_video_eval_transform(32)(x)
    assert val.shape == (3, 4, 32, 32) and val.dtype == torch.float32
    assert build_video_eval_transform(32, crops=3)(x).shape == (3, 3, 4, 32, 32)
    with pytest.raises(ValueError, match=r"uint8 frames \(T, H, W, 3\)"):
        build_video_eval_transform(32)(x.permute(0, 3, 1, 2))


def test_every_frame_gets_the_same_ops() -> None:
    """A clip of identical frames stays identical through RandAugment, the random crop and the flip; applied
    frame by frame (parameters drawn per frame) the frames differ."""
    frame = random_frames(1, 48, 64, seed=3)
    clip = frame.expand(4, -1, -1, -1).contiguous()
    tf = build_video_train_transform(32, 40)
    changed = 0
    for s in range(20):
        torch.manual_seed(s)
        out = tf(clip)
        assert all(torch.equal(out[:, 0], out[:, i]) for i in range(1, 4)), f"seed {s}"
        torch.manual_seed(s)
        per_frame = torch.cat([tf(clip[i:i + 1]) for i in range(4)], dim=1)
        changed += not all(torch.equal(per_frame[:, 0], per_frame[:, i]) for i in range(1, 4))
    assert changed >= 18


def test_randaugment_layers_apply_with_probability_half() -> None:
    """m7 n4 on the 0-10 scale: 4 layers of one op, each kept with p = 0.5 (pytorchvideo's semantics)."""
    ra = video_randaugment()
    assert len(ra.transforms) == 4
    for layer in ra.transforms:
        assert isinstance(layer, v2.RandomApply) and layer.p == 0.5
        (op,) = layer.transforms
        assert isinstance(op, v2.RandAugment) and (op.num_ops, op.magnitude, op.num_magnitude_bins) == (1, 7, 11)
    x = v2.functional.to_image(random_frames(1)[0].permute(2, 0, 1))
    unchanged = sum(torch.equal(ra(x), x) for _ in range(200))
    # P(no layer applies) = 1/16, plus the Identity op (1/14 per applied layer): about 9% unchanged
    assert 5 <= unchanged <= 40, unchanged


def test_normalisation_values() -> None:
    x = torch.tensor([0, 114.75, 255], dtype=torch.float32)
    clip = x.view(1, 1, 1, 3).expand(1, 3, 1, 3)  # (T=1, C=3, H=1, W=3)
    out = ToModelInput()(clip)
    assert out.shape == (3, 1, 1, 3)
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([-2.0, 0.0, (255 - 114.75) / 57.375]))
    frames = random_frames(2, 8, 8)
    torch.testing.assert_close(clip_to_frames(build_video_eval_transform(8)(frames)), frames, rtol=0, atol=0)


def test_three_crop_positions() -> None:
    x = torch.arange(10, dtype=torch.float32).view(1, 1, 1, 10).expand(2, 3, 4, 10)  # (T, C, H=4, W=10)
    crops = ThreeCrop(4)(x)
    assert crops.shape == (3, 2, 3, 4, 4)
    assert [c[0, 0, 0].tolist() for c in crops] == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]  # left, centre, right
    tall = x.transpose(-1, -2)  # H=10, W=4
    assert [c[0, 0, :, 0].tolist() for c in ThreeCrop(4)(tall)] == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    with pytest.raises(ValueError, match="at least 5x5"):
        ThreeCrop(5)(x)


def test_eval_resizes_the_short_side() -> None:
    x = torch.zeros(2, 40, 80, 3, dtype=torch.uint8)
    x[:, :, :40] = 255  # left half white
    out = build_video_eval_transform(20, crops=3)(x)  # short side 40 -> 20: 20 x 40, crops at 0, 10, 20
    means = out.mean(dim=(1, 2, 3, 4))
    assert means[0] > 2.0 and means[2] < -1.9 and -0.1 < means[1] - (means[0] + means[2]) / 2 < 0.1
