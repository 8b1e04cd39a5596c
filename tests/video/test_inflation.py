"""I3D inflation of 2-D EMOv2 weights into V-EMOv2: a clip of identical frames reproduces the 2-D model's stage
features on the frames that no temporal padding reaches (float64, to round-off)."""

from __future__ import annotations

import pytest
import torch

import emov2
from emov2.engine.artifact import write_artifact
from emov2.models.official import to_official
from emov2.models.video import from_2d
from emov2.models.weights import CheckpointError

T = 128  # input frames; 64 after the stem (stride 2 in time)
SIZE = 64  # stage 3 is 4x4 with 2x2 windows: remote and close windows differ


def _randomised_2d() -> torch.nn.Module:
    """test_emov2 (window 2) in float64 with every tensor random (BN statistics, layer scales ~ 1), so every
    layer shows in the features."""
    model = emov2.create_model("test_emov2", num_classes=5, window_size=2, dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if not v.is_floating_point():
                continue
            if k.endswith("running_var"):
                v.copy_(torch.rand(v.shape, generator=g, dtype=v.dtype) + 0.5)
            else:
                scale = 1.0 if k.endswith(("norm.weight", "bn.weight", "gamma")) else 0.0
                v.copy_(scale + torch.randn(v.shape, generator=g, dtype=v.dtype) * (0.5 if v.ndim > 1 else 0.3))
    return model.eval()


def _conv(bad: set[int], n: int, r: int) -> set[int]:
    """Frames touched by a temporal conv of half-width r with zero padding: near a touched frame or an end."""
    return {t for t in range(n) if t < r or t >= n - r or any(abs(t - s) <= r for s in bad)}


def _attention(bad: set[int], n: int) -> set[int]:
    """Windows of 2 frames over n (even): close partner t xor 1, remote partner t +- n/2 (spanning: both)."""
    return {t for t in range(n) if {t, t ^ 1, (t + n // 2) % n} & bad}


def _touched_frames(n: int) -> list[set[int]]:
    """Per feature (stem, stages 1-4) of test_emov2 (depths 1, 1, 2, 2; stages 3-4: conv block + attention
    block), the frames that differ from the 2-D features: the stem's stride-2 conv reads frame -1 (padding) for
    output 0 only (T even), then each depthwise conv (3 in the stem, 5 in the blocks) spreads the difference and
    meets the padding at both ends, and each attention block mixes frames with their window partners."""
    bad = _conv({0}, n, 1)  # conv1 output 0 saw padding; the 3x3x3 depthwise conv
    out = [bad]
    for stage_blocks in (["conv"], ["conv"], ["conv", "attn"], ["conv", "attn"]):
        for kind in stage_blocks:
            if kind == "attn":
                bad = _attention(bad, n)
            bad = _conv(bad, n, 2)  # the block's 5x5x5 depthwise conv
        out.append(bad)
    return out


def test_identical_frames_give_the_2d_features_on_interior_frames() -> None:
    m2 = _randomised_2d()
    m3 = from_2d(m2.state_dict(), "test_v_emov2", num_classes=5, window_size=(2, 2, 2), dtype=torch.float64).eval()
    img = torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with torch.no_grad():
        f2 = m2.forward_intermediates(img, intermediates_only=True)
        f3 = m3.forward_intermediates(img[:, :, None].expand(1, 3, T, SIZE, SIZE), intermediates_only=True)
    n = T // 2
    for i, (a, b, touched) in enumerate(zip(f2, f3, _touched_frames(n), strict=True)):
        assert b.shape[2] == n and b.shape[3:] == a.shape[2:]
        interior = [t for t in range(n) if t not in touched]
        assert len(interior) >= 8, f"feature {i}: too few interior frames"
        diff = (b[:, :, interior] - a[:, :, None]).abs().max().item()
        assert diff < 1e-10 * a.abs().max().item(), f"feature {i}: max |diff| {diff:.3g} on interior frames"
        assert (b[:, :, 0] - a).abs().max() > 1e-3 * a.abs().max()  # the first frame saw padding: it differs
    assert [t for t in range(n) if t not in _touched_frames(n)[4]] == [14, 15, 16, 17, 46, 47, 48, 49]


def test_inflation_rule_and_head() -> None:
    m2 = emov2.create_model("test_emov2", num_classes=10)
    m3 = from_2d(m2.state_dict(), "test_v_emov2", num_classes=7)
    w2, w3 = m2.stem.conv1.conv.weight, m3.stem.conv1.conv.weight
    torch.testing.assert_close(w3, w2[:, :, None].repeat(1, 1, 3, 1, 1) / 3, rtol=0, atol=0)
    dw2, dw3 = m2.stages[2].blocks[1].dw.conv.weight, m3.stages[2].blocks[1].dw.conv.weight
    torch.testing.assert_close(dw3.sum(2), dw2)  # repeated along T and divided by k_t = 5
    assert torch.equal(m3.stem.conv1.conv.bias, m2.stem.conv1.conv.bias)
    assert torch.equal(m3.stages[3].blocks[1].layer_scale.gamma, m2.stages[3].blocks[1].layer_scale.gamma)
    assert m3.head.weight.shape == (7, 48) and m3.pretrained_cfg["num_frames"] == 4


def test_from_2d_reads_official_and_our_checkpoints(tmp_path) -> None:
    m2 = emov2.create_model("emov2_1m")
    ref = from_2d(m2.state_dict(), "v_emov2_1m").state_dict()
    official = tmp_path / "EMOv2_1M_224.pth"
    torch.save({"net": to_official(m2.state_dict())}, official)
    ours = write_artifact(m2.state_dict(), tmp_path / "best.safetensors", {"task": "cls", "arch": "emov2_1m"})
    for source in (official, ours):
        got = from_2d(source)  # the variant from the artifact's arch, or recognised from the shapes
        assert got.num_classes == 400
        assert all(torch.equal(got.state_dict()[k], v) for k, v in ref.items() if not k.startswith("head."))
    model = emov2.create_video_model("v_emov2_1m", num_classes=3, checkpoint=official)  # the same path inflates
    assert torch.equal(model.stages[0].blocks[0].dw.conv.weight, ref["stages.0.blocks.0.dw.conv.weight"])


def test_inflation_errors(tmp_path) -> None:
    sd = emov2.create_model("emov2_2m").state_dict()
    with pytest.raises(CheckpointError, match="does not fit.*looks like emov2_2m"):
        from_2d(sd, "v_emov2_5m")
    video = emov2.create_video_model("test_v_emov2").state_dict()
    with pytest.raises(CheckpointError, match="already 3-D"):
        from_2d(video)
    with pytest.raises(CheckpointError, match="cannot tell which EMOv2 variant"):
        from_2d({k: v for k, v in emov2.create_model("test_emov2").state_dict().items()})
