"""Plug-in Meta Mobile Blocks in DeiT-Tiny and PVT-Tiny (paper Tab. III): parameter counts against video_unet.md §3's
arithmetic, block structure, spatial-reduction attention, forward/backward at small sizes."""

import pytest
import timm
import torch
from torch import nn

import emov2.plugin  # noqa: F401  (registers the models with timm)
from emov2.layers import AttentionMode, MetaMobileBlock
from emov2.plugin import (
    PyramidVisionTransformer,
    SpatialReductionAttention,
    SRAttentionOperator,
    TokenGridBlock,
    swap_blocks,
)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def mmblock_params(c, lam, k, sr=1):
    """One MMBlock of width c, V expanding to lam*c: LN, [SR conv + LN], Q/K (2c^2 + 2c), V, DW k x k + BN,
    projection (no bias), layer scale."""
    m = lam * c
    sr_part = (c * c * sr * sr + c + 2 * c) if sr > 1 else 0
    return 2 * c + sr_part + (2 * c * c + 2 * c) + (c * m + m) + (k * k * m + 2 * m) + m * c + c


# DeiT-Tiny: 12 blocks of width 192 (qkv, proj, two LNs, MLP x4) -> 5,717,416 in all
DEIT_BLOCK = 2 * 192 + (192 * 576 + 576) + (192 * 192 + 192) + 2 * 192 + (192 * 768 + 768) + (768 * 192 + 192)
DEIT = 5_717_416
CLS_DEIT = 192 + 192  # class token + its position embedding


def test_deit_counts_follow_section_3():
    assert DEIT_BLOCK == 444_864 and n_params(timm.create_model("deit_tiny_patch16_224")) == DEIT
    for name, k, paper_arithmetic in (("deit_tiny_irmb", 3, 4_924_840), ("deit_tiny_i2rmb", 5, 5_072_296)):
        # §3: 5,717,416 - 12 DeiT blocks + 12 MMBlocks = 4.925M (k3) / 5.072M (k5); this build has no class token
        assert DEIT - 12 * DEIT_BLOCK + 12 * mmblock_params(192, 4, k) == paper_arithmetic
        model = timm.create_model(name)
        assert n_params(model) == paper_arithmetic - CLS_DEIT == {3: 4_924_456, 5: 5_071_912}[k]
    swapped = swap_blocks(timm.create_model("deit_tiny_patch16_224"), "irmb")
    assert n_params(swapped) == 4_924_456


PVT_DIMS, PVT_RATIOS, PVT_SR = (64, 128, 320, 512), (8, 8, 4, 4), (8, 4, 2, 1)


def pvt_block_params(c, r, sr):
    attn = (c * c + c) + (c * 2 * c + 2 * c) + (c * c + c) + ((c * c * sr * sr + c + 2 * c) if sr > 1 else 0)
    return 4 * c + attn + (c * r * c + r * c) + (r * c * c + c)


def pvt_rest():
    """Patch embeddings (conv + LN), position embeddings at 224 px, class token, final LN, 1000-class head."""
    embeds = (16 * 3 * 64 + 64 + 128) + (4 * 64 * 128 + 128 + 256) + (4 * 128 * 320 + 320 + 640)
    embeds += 4 * 320 * 512 + 512 + 1024
    pos = 56 * 56 * 64 + 28 * 28 * 128 + 14 * 14 * 320 + (7 * 7 + 1) * 512
    return embeds + pos + 512 + 1024 + 512 * 1000 + 1000


def test_pvt_counts_follow_section_3():
    blocks = sum(2 * pvt_block_params(c, r, s) for c, r, s in zip(PVT_DIMS, PVT_RATIOS, PVT_SR, strict=True))
    assert blocks + pvt_rest() == 13_229_288 == n_params(timm.create_model("pvt_tiny"))
    for name, k, paper_arithmetic in (("pvt_tiny_irmb", 3, 11_788_008), ("pvt_tiny_i2rmb", 5, 11_943_656)):
        mm = sum(2 * mmblock_params(c, r, k, s) for c, r, s in zip(PVT_DIMS, PVT_RATIOS, PVT_SR, strict=True))
        assert mm + pvt_rest() == paper_arithmetic  # §3: 11.788M / 11.944M with the SR conv + LN kept
        model = timm.create_model(name)
        assert n_params(model) == paper_arithmetic - 1024  # no class token (512) nor its position embedding (512)
    assert n_params(timm.create_model("pvt_tiny_irmb")) == 11_786_984
    assert n_params(timm.create_model("pvt_tiny_i2rmb")) == 11_942_632


@pytest.mark.parametrize("kind,kernel,mode", [("irmb", 3, AttentionMode.REMOTE), ("i2rmb", 5, AttentionMode.SPANNING)])
def test_block_structure(kind, kernel, mode):
    deit = timm.create_model(f"deit_tiny_{kind}")
    assert deit.cls_token is None and deit.global_pool == "avg" and deit.pos_embed.shape == (1, 196, 192)
    assert len(deit.blocks) == 12
    for blk in deit.blocks:
        assert isinstance(blk, TokenGridBlock) and blk.grid_size == (14, 14)
        mm = blk.block
        assert isinstance(mm, MetaMobileBlock) and mm.has_skip
        assert mm.op.mode is mode and mm.op.window_size == 7 and mm.op.num_heads == 3
        assert mm.op.v.out_channels == 4 * 192 and mm.dw.conv.kernel_size == (kernel, kernel)
        assert isinstance(mm.dw.bn, nn.BatchNorm2d) and mm.proj.bias is None
    pvt = timm.create_model(f"pvt_tiny_{kind}")
    assert pvt.cls_token is None
    for stage, c, r, sr in zip(pvt.stages, PVT_DIMS, PVT_RATIOS, PVT_SR, strict=True):
        for blk in stage:
            op = blk.block.op
            assert isinstance(op, SRAttentionOperator) and op.attn.dim_v == r * c
            assert (op.attn.sr.kernel_size == (sr, sr)) if sr > 1 else not hasattr(op.attn, "sr")
            assert blk.block.dw.conv.kernel_size == (kernel, kernel)


@pytest.mark.parametrize("name", ["deit_tiny_irmb", "deit_tiny_i2rmb"])
def test_deit_forward_backward_small(name):
    torch.manual_seed(0)
    model = timm.create_model(name, img_size=32, patch_size=4, in_chans=1, num_classes=10, drop_path_rate=0.1)
    assert model.blocks[-1].block.drop_path.drop_prob == pytest.approx(0.1)
    out = model(torch.randn(2, 1, 32, 32))
    assert out.shape == (2, 10)
    out.logsumexp(1).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with pytest.raises(ValueError, match="do not form the 8x8 grid"):
        model.blocks[0](torch.randn(1, 65, 192))  # e.g. a class token left in the sequence


@pytest.mark.parametrize("name", ["pvt_tiny", "pvt_tiny_irmb", "pvt_tiny_i2rmb"])
def test_pvt_forward_backward_small(name):
    torch.manual_seed(0)
    model = timm.create_model(name, img_size=64, num_classes=10)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10)
    out.logsumexp(1).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with torch.no_grad():  # another size: position embeddings are resampled, as PVT v1 does
        assert model.eval()(torch.randn(1, 3, 96, 96)).shape == (1, 10)


def test_sr_attention_against_hand_attention():
    torch.manual_seed(0)
    b, h, w, c, heads = 2, 4, 6, 16, 2
    x = torch.randn(b, h * w, c)
    for sr in (1, 2):
        attn = SpatialReductionAttention(c, heads, sr, dim_v=24, proj=False).eval()
        src = x
        if sr > 1:
            src = attn.sr(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
            src = attn.norm(src)
        q = attn.q(x).view(b, -1, heads, 8)
        k, v = attn.kv(src).split([c, 24], -1)
        k, v = k.reshape(b, -1, heads, 8), v.reshape(b, -1, heads, 12)
        a = torch.einsum("bnhd,bmhd->bhnm", q, k).mul(8 ** -0.5).softmax(-1)
        ref = torch.einsum("bhnm,bmhd->bnhd", a, v).reshape(b, h * w, 24)
        torch.testing.assert_close(attn(x, (h, w)), ref, rtol=1e-5, atol=1e-5)
        assert src.shape[1] == h * w // (sr * sr)


def test_token_grid_block_is_the_map_block():
    torch.manual_seed(0)
    mm = MetaMobileBlock(32, 32, exp_ratio=2, dw_kernel_size=3).eval()
    tokens = torch.randn(2, 12, 32)
    grid = tokens.transpose(1, 2).reshape(2, 32, 3, 4)
    with torch.no_grad():
        ref = mm(grid).flatten(2).transpose(1, 2)
        torch.testing.assert_close(TokenGridBlock(mm, (3, 4))(tokens), ref)
        torch.testing.assert_close(TokenGridBlock(mm)(tokens, (3, 4)), ref)


def test_errors():
    with pytest.raises(ValueError, match="no pretrained weights"):
        timm.create_model("deit_tiny_i2rmb", pretrained=True)
    with pytest.raises(ValueError, match="unknown block"):
        swap_blocks(timm.create_model("deit_tiny_patch16_224"), "mbconv")
    with pytest.raises(TypeError, match="supports timm VisionTransformer"):
        swap_blocks(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="multiple of 32"):
        PyramidVisionTransformer(img_size=100)
