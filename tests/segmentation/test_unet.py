"""U-EMOv2 and UNet-S5-D16: exact parameter counts (paper Tab. XII / video_unet.md §2), MACs at 512², the
i2RMB configuration, shapes, initialisation and a few optimiser steps."""

import json
import math

import pytest
import torch
from timm.layers import LayerNorm2d
from torch import nn

from emov2.cli.info_dense import inference_params
from emov2.layers import AttentionMode, MetaMobileBlock, WindowAttention
from emov2.models.complexity import count_macs
from emov2.segmentation import create_segmenter
from emov2.segmentation.engine import segmentation_loss


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.fixture(scope="module")
def u_emov2():
    torch.manual_seed(0)
    return create_segmenter("unet", "i2rmb", 2)


@pytest.fixture(scope="module")
def unet_conv():
    torch.manual_seed(0)
    return create_segmenter("unet", "conv", 2)


def test_exact_parameter_counts(u_emov2, unet_conv):
    assert inference_params(u_emov2) == 21_323_170 and n_params(u_emov2) == 21_397_156
    assert inference_params(unet_conv) == 28_991_010 and n_params(unet_conv) == 29_064_996
    assert n_params(create_segmenter("unet", "i2rmb", 2, aux=False)) == 21_323_170
    # per stage, as the official log lists them (video_unet.md §2.1)
    enc = [38_848, 142_848, 547_840, 2_144_256, 8_482_816]
    dec = [126_464, 482_304, 1_882_112, 7_434_240]  # decoder.0 .. decoder.3
    assert [n_params(s) for s in u_emov2.backbone.encoder] == enc
    assert [n_params(s) for s in u_emov2.backbone.decoder] == dec
    assert n_params(u_emov2.decode_head) == 41_442 and n_params(u_emov2.aux_head) == 73_986


def test_i2rmb_hand_count(u_emov2):
    def i2rmb(cin, cout):  # LN, QK (C -> 2C, bias), V (C -> 2C, bias), DW 5x5 + LN, proj (no bias), gamma
        m = 2 * cin
        return 2 * cin + (2 * cin * cin + 2 * cin) + (cin * m + m) + (25 * m + 2 * m) + m * cout + cout

    first, second = u_emov2.backbone.encoder[1][1]
    assert n_params(first) == i2rmb(64, 128) and n_params(second) == i2rmb(128, 128)
    dec3 = u_emov2.backbone.decoder[3]
    interp = 1024 * 512 + 2 * 512  # 1x1 conv (no bias) + BN
    assert n_params(dec3) == interp + i2rmb(1024, 512) + i2rmb(512, 512)


def test_block_configuration(u_emov2, unet_conv):
    blocks = [m for m in u_emov2.backbone.modules() if isinstance(m, MetaMobileBlock)]
    assert len(blocks) == 16  # 2 per encoder stage 1-4, 2 per decoder stage
    assert not any(isinstance(m, MetaMobileBlock) for m in unet_conv.modules())
    assert not any(isinstance(m, MetaMobileBlock) for m in u_emov2.backbone.encoder[0].modules())  # 3 -> 64 stays conv
    for b in blocks:
        cin = b.norm.normalized_shape[0]
        assert isinstance(b.norm, LayerNorm2d) and b.norm.eps == 1e-6
        assert isinstance(b.op, WindowAttention) and b.op.mode is AttentionMode.SPANNING
        assert b.op.window_size == 8 and b.op.dim_head == 32 and b.op.num_heads == cin // 32
        assert b.op.v.out_channels == 2 * cin  # λ = 2 on the input width
        assert isinstance(b.op.act, nn.GELU)
        assert b.dw.conv.kernel_size == (5, 5) and b.dw.conv.groups == 2 * cin
        assert isinstance(b.dw.bn, LayerNorm2d) and isinstance(b.dw.act, nn.GELU)  # LN2d + GELU
        assert b.proj.bias is None
        assert torch.all(b.layer_scale.gamma == 1e-6)
        assert b.has_skip == (cin == b.proj.out_channels)
    w10 = create_segmenter("unet", "i2rmb", 2, window_size=10)
    assert {m.window_size for m in w10.modules() if isinstance(m, WindowAttention)} == {10}


def _padded_projection_macs(model, hw):
    """What the official code adds at window w: its Q/K and V 1x1 convs also run on the zero padding (this package
    projects real pixels only). Per i2RMB: (2 C^2 + 2 C^2) MACs per padded pixel."""
    extra, size = 0, {}
    hooks = [m.register_forward_pre_hook(lambda mod, a: size.__setitem__(mod, a[0].shape[-2:]))
             for m in model.modules() if isinstance(m, WindowAttention)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, *hw, device="meta"))
    for h in hooks:
        h.remove()
    for m, (h, w) in size.items():
        win, c = m.window_size, m.qk.in_channels
        padded = math.ceil(h / win) * win * math.ceil(w / win) * win
        extra += (2 * c * c + c * m.v.out_channels) * (padded - h * w)
    return extra


def test_macs_at_512():
    def build(block, window=8):
        with torch.device("meta"):
            return create_segmenter("unet", block, 2, window_size=window, aux=False)

    w8 = count_macs(build("i2rmb", 8), (3, 512, 512), fvcore_style=True) / 1e9
    conv = count_macs(build("conv"), (3, 512, 512), fvcore_style=True) / 1e9
    assert w8 == pytest.approx(228.4, rel=0.02) and conv == pytest.approx(203.6, rel=0.02)
    assert w8 == pytest.approx(228.42, abs=0.01) and conv == pytest.approx(203.56, abs=0.01)  # this build's values
    m10 = build("i2rmb", 10)
    w10 = count_macs(m10, (3, 512, 512), fvcore_style=True) / 1e9
    assert w10 == pytest.approx(257.56, abs=0.01)  # padding to 20/40/70/130/260/520 costs attention only
    assert _padded_projection_macs(build("i2rmb", 8), (512, 512)) == 0  # 512 / 2^k is a multiple of 8
    official = w10 + _padded_projection_macs(m10, (512, 512)) / 1e9
    assert official == pytest.approx(268.2, rel=0.005)  # video_unet.md §2.2: the released code at window 10


def test_shapes_and_errors(u_emov2):
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        feats = u_emov2.backbone.eval()(x)
        assert [tuple(f.shape) for f in feats] == [(1, 1024, 4, 6), (1, 512, 8, 12), (1, 256, 16, 24),
                                                   (1, 128, 32, 48), (1, 64, 64, 96)]
        assert u_emov2.backbone.channels == [1024, 512, 256, 128, 64]
        out = u_emov2.eval()(x)
        assert set(out) == {"out"} and out["out"].shape == (1, 2, 64, 96)
        with pytest.raises(ValueError, match="divisible by 16"):
            u_emov2(torch.randn(1, 3, 72, 64))
    with pytest.raises(ValueError, match="unet backbone must be one of"):
        create_segmenter("unet", "emov2_5m", 2)
    with pytest.raises(ValueError, match="trained from scratch"):
        create_segmenter("unet", "i2rmb", 2, backbone_checkpoint="x.pt")


def test_initialisation():
    torch.manual_seed(0)
    model = create_segmenter("unet", "i2rmb", 150)  # 150 classes: enough conv_seg weights to measure their spread
    for name, m in model.backbone.named_modules():  # mmseg's UNet init_cfg on the backbone
        if isinstance(m, nn.Conv2d) and m.bias is not None:
            assert torch.all(m.bias == 0), name
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0), name
    v = model.backbone.encoder[4][1][1].op.v  # 1024 -> 2048 1x1: Kaiming fan_out std sqrt(2 / 2048)
    assert v.weight.std().item() == pytest.approx(math.sqrt(2 / 2048), rel=0.02)
    dw = model.backbone.decoder[0].conv_block[0].dw.conv  # depthwise 5x5 on 256 channels; PyTorch's (and mmcv's)
    assert dw.weight.std().item() == pytest.approx(math.sqrt(2 / (256 * 25)), rel=0.05)  # fan_out ignores groups
    # the heads keep PyTorch's default init (not mmseg's Normal(0, 0.01) conv_seg): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for head, fan_in in ((model.decode_head, 16), (model.aux_head, 64)):
        w, b = head.cls[1].weight, head.cls[1].bias
        assert w.abs().max().item() <= 1 / math.sqrt(fan_in) and b.abs().max().item() <= 1 / math.sqrt(fan_in)
        assert w.std().item() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.05)
    bottleneck = model.decode_head.bottleneck[0].weight  # 3x3 on 5 x 16 channels: fan_in 720
    assert bottleneck.std().item() == pytest.approx(1 / math.sqrt(3 * 720), rel=0.05)


@pytest.mark.parametrize("block", ["i2rmb", "conv"])
def test_training_steps(block):
    torch.manual_seed(0)
    model = create_segmenter("unet", block, 2).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.randn(2, 3, 32, 32)  # enc4 at 2x2; enc1 (16x16) has 2x2 windows of 8
    labels = (torch.rand(2, 32, 32) > 0.8).long()
    labels[0, :4] = 255
    before = [p.detach().clone() for p in model.parameters()]
    for _ in range(3):
        losses = segmentation_loss(model, (images, labels))
        assert set(losses) == {"loss", "loss_decode", "loss_aux"} and torch.isfinite(losses["loss"])
        assert losses["loss"].item() == pytest.approx((losses["loss_decode"] + 0.4 * losses["loss_aux"]).item())
        opt.zero_grad()
        losses["loss"].backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
        opt.step()
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_info_prints_the_unet_rows(capsys):
    from emov2.cli.main import main

    assert main(["info", "--task", "seg", "--arch", "unet", "--json"]) == 0
    rows = {r["backbone"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["i2rmb"]["params"] == 21_323_170 and rows["conv"]["params"] == 28_991_010
    assert rows["i2rmb"]["gflops"] == pytest.approx(228.42) and rows["conv"]["gflops"] == pytest.approx(203.56)
    assert rows["i2rmb"]["paper_params_m"] == 21.3 and rows["i2rmb"]["paper_gflops"] == 228
