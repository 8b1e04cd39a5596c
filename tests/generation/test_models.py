"""Generator architectures: released parameter counts, shapes, adaLN-Zero identity at init, CFG."""

from __future__ import annotations

import pytest
import torch

import emov2
from emov2.generation import GENERATORS, DEMOBlock, DiTBlock, create_generator, list_generators
from emov2.generation.embedders import sincos_pos_embed_2d

# Hand counts (see docs/generation.md): skeleton = patch 17D + t-embedder (D^2 + 258D) + labels 1001D +
# positions 256D + final layer (2D^2 + 34D + 32); D-EMOv2 adds 2D (affine final LN) and 13D^2 + 119D per block,
# DiT 18D^2 + 15D per block.
SIZES = {"s": (384, 12), "b": (768, 12), "l": (1024, 24), "xl": (1152, 28)}


def skeleton(d: int) -> int:
    return 17 * d + (d * d + 258 * d) + 1001 * d + 256 * d + (2 * d * d + 34 * d + 32)


def hand_count(name: str) -> int:
    d, depth = SIZES[name.split("_")[-2]]
    if name.startswith("d_emov2"):
        return skeleton(d) + 2 * d + depth * (13 * d * d + 119 * d)
    return skeleton(d) + depth * (18 * d * d + 15 * d)


def meta_params(name: str) -> int:
    with torch.device("meta"):
        model = create_generator(name)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", [n for n in GENERATORS if n.endswith("_2")])
def test_param_counts_match_hand_count_and_release(name):
    count = meta_params(name)
    assert count == hand_count(name)
    released = GENERATORS[name].released_params
    assert abs(count - released) / released < 0.02
    if name.startswith("d_emov2"):
        assert count == released  # the inferred block design reproduces the training logs exactly


def test_d_emov2_is_about_25_percent_smaller_than_dit():
    for size in SIZES:
        ratio = meta_params(f"d_emov2_{size}_2") / meta_params(f"dit_{size}_2")
        assert 0.70 < ratio < 0.76


def test_block_param_formulas():
    d = 96
    assert sum(p.numel() for p in DEMOBlock(d, 3).parameters()) == 13 * d * d + 119 * d
    assert sum(p.numel() for p in DEMOBlock(d, 3, dw_kernel_size=3).parameters()) == 13 * d * d + 55 * d
    assert sum(p.numel() for p in DiTBlock(d, 3).parameters()) == 18 * d * d + 15 * d
    bn = DEMOBlock(d, 3, dw_norm="batchnorm")
    assert sum(p.numel() for p in bn.parameters()) == 13 * d * d + 119 * d  # same count: the logs can't tell


def test_registry_and_top_level_export():
    assert emov2.create_generator is create_generator
    assert set(list_generators("d_emov2_*")) == {"d_emov2_s_2", "d_emov2_b_2", "d_emov2_l_2", "d_emov2_xl_2",
                                                  "d_emov2_t_4", "d_emov2_fm"}
    with pytest.raises(ValueError, match="unknown generator"):
        create_generator("dit_q_2")


def test_fashion_mnist_pair_is_matched_and_counted_by_hand():
    """d_emov2_fm / dit_fm: one skeleton (width, depth, heads, patch), i2RMB vs transformer blocks.

    1 channel, 10 classes (+ null), no learned sigma, 32 px / patch 4 = 64 tokens: patch p^2 C D + D,
    t-embedder D^2 + 258 D, labels 11 D, positions 64 D, final adaLN 2 D^2 + 2 D and linear p^2 C D + p^2 C.
    """
    demo, dit = GENERATORS["d_emov2_fm"], GENERATORS["dit_fm"]
    assert (demo.hidden_size, demo.depth, demo.num_heads, demo.patch_size) == \
        (dit.hidden_size, dit.depth, dit.num_heads, dit.patch_size)
    assert (demo.block, dit.block) == ("demo", "dit")
    d, depth, p = demo.hidden_size, demo.depth, demo.patch_size
    skeleton = (p * p * d + d) + (d * d + 258 * d) + 11 * d + 64 * d + (2 * d * d + 2 * d) + (p * p * d + p * p)
    counts = {}
    blocks_of = {"d_emov2_fm": 2 * d + depth * (13 * d * d + 119 * d), "dit_fm": depth * (18 * d * d + 15 * d)}
    for name, blocks in blocks_of.items():
        model = create_generator(name, in_channels=1, num_classes=10, learn_sigma=False)
        counts[name] = sum(q.numel() for q in model.parameters())
        assert counts[name] == skeleton + blocks
    assert 0.75 < counts["d_emov2_fm"] / counts["dit_fm"] < 0.85  # the shared skeleton weighs more at D = 96


@pytest.mark.parametrize("name", ["d_emov2_t_4", "dit_t_4"])
@pytest.mark.parametrize("learn_sigma", [True, False])
def test_forward_shapes(name, learn_sigma):
    model = create_generator(name, in_channels=1, num_classes=10, learn_sigma=learn_sigma)
    x, t, y = torch.randn(2, 1, 32, 32), torch.tensor([0, 999]), torch.tensor([3, 7])
    out = model(x, t, y)
    assert out.shape == (2, 2 if learn_sigma else 1, 32, 32)
    assert model.forward_with_cfg(x, t, y, cfg_scale=3.0).shape == out.shape


def test_latent_shapes_small_s2():
    model = create_generator("d_emov2_s_2", input_size=16, depth=1)
    assert model(torch.randn(1, 4, 16, 16), torch.tensor([5]), torch.tensor([1])).shape == (1, 8, 16, 16)


@pytest.mark.parametrize("block", [DEMOBlock, DiTBlock])
def test_zero_init_block_is_identity(block):
    model = create_generator("d_emov2_t_4" if block is DEMOBlock else "dit_t_4", in_channels=1, num_classes=10)
    blk = model.blocks[0]
    assert isinstance(blk, block)
    x, c = torch.randn(2, 64, 96), torch.randn(2, 96)
    torch.testing.assert_close(blk(x, c, model.grid), x, rtol=0, atol=0)
    # and the whole model outputs zeros (zero final layer), whatever the input
    assert model(torch.randn(2, 1, 32, 32), torch.tensor([1, 2]), torch.tensor([0, 1])).abs().max() == 0


def test_gate_opens_the_block():
    model = create_generator("d_emov2_t_4", in_channels=1, num_classes=10)
    blk = model.blocks[0]
    torch.nn.init.normal_(blk.adaLN_modulation[-1].weight, std=0.02)
    torch.nn.init.constant_(blk.adaLN_modulation[-1].bias, 0.1)
    x, c = torch.randn(2, 64, 96), torch.randn(2, 96)
    assert (blk(x, c, model.grid) - x).abs().max() > 1e-4


def test_cfg_mixes_branches():
    torch.manual_seed(0)
    model = create_generator("dit_t_4", in_channels=1, num_classes=10).eval()
    for p in model.parameters():  # leave adaLN-Zero so that labels matter
        torch.nn.init.normal_(p, std=0.05) if p.requires_grad else None
    x, t, y = torch.randn(2, 1, 32, 32), torch.tensor([10, 500]), torch.tensor([2, 5])
    cond = model(x, t, y)
    uncond = model(x, t, y, force_drop=torch.ones(2, dtype=torch.bool))
    guided = model.forward_with_cfg(x, t, y, cfg_scale=3.0)
    torch.testing.assert_close(guided[:, :1], uncond[:, :1] + 3.0 * (cond[:, :1] - uncond[:, :1]))
    torch.testing.assert_close(guided[:, 1:], cond[:, 1:])
    assert not torch.allclose(cond, uncond)


def test_sincos_positions():
    pe = sincos_pos_embed_2d(16, 4, 4)
    assert pe.shape == (16, 16)
    # tokens of the same row share the row half (last 8 channels), same column the column half
    torch.testing.assert_close(pe[0, 8:], pe[3, 8:])
    torch.testing.assert_close(pe[0, :8], pe[12, :8])
    assert not torch.allclose(pe[0], pe[5])
