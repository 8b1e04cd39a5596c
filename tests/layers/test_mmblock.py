"""The Meta Mobile Block in 2-D and 3-D: against a functional float64 reference, and 3-D with one frame against
the 2-D block with the same weights."""

import pytest
import torch
import torch.nn.functional as F

from emov2.layers import MetaMobileBlock, norm_layer

from .test_attention import naive_attention


def _block(dims, attn, stride=1, in_chs=16, out_chs=16, window=4, seed=0, **kw):
    torch.manual_seed(seed)
    block = MetaMobileBlock(
        in_chs, out_chs, exp_ratio=2.0, stride=stride, attn_mode="spanning" if attn else None, dim_head=8,
        window_size=window, norm_layer=norm_layer("ln" if attn else "bn", dims), act_layer=torch.nn.GELU,
        spatial_dims=dims, layer_scale_init=0.5, **kw,
    ).double()
    with torch.no_grad():  # non-trivial norm statistics and affine parameters
        for m in block.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.normal_(1, 0.1)
                m.bias.normal_(0, 0.1)
            elif isinstance(m, torch.nn.LayerNorm):
                m.weight.normal_(1, 0.1)
                m.bias.normal_(0, 0.1)
    return block.eval()


def reference_block(block: MetaMobileBlock, x: torch.Tensor) -> torch.Tensor:
    """x -> norm -> 1x1 expansion (or window attention) -> [+] DW conv + BN + SiLU -> 1x1 -> gamma (+ x), written
    with functional ops (eval-mode norms)."""
    dims = x.dim() - 2
    conv = F.conv3d if dims == 3 else F.conv2d
    per_channel = (1, -1) + (1,) * dims
    n = block.norm
    if isinstance(n, torch.nn.LayerNorm):
        h = F.layer_norm(x.movedim(1, -1), n.normalized_shape, n.weight, n.bias, n.eps).movedim(-1, 1)
    else:
        h = F.batch_norm(x, n.running_mean, n.running_var, n.weight, n.bias, False, 0.0, n.eps)
    if hasattr(block.op, "qk"):
        h = naive_attention(block.op, h)
    else:
        h = F.gelu(conv(h, block.op.conv.weight, block.op.conv.bias))
    dw = block.dw
    local = conv(h, dw.conv.weight, None, dw.conv.stride, dw.conv.padding, dw.conv.dilation, h.shape[1])
    local = F.silu(F.batch_norm(local, dw.bn.running_mean, dw.bn.running_var, dw.bn.weight, dw.bn.bias, False, 0.0,
                                dw.bn.eps))
    h = h + local if block.has_skip else local
    h = conv(h, block.proj.weight) * block.layer_scale.gamma.view(per_channel)
    return x + h if block.has_skip else h


@pytest.mark.parametrize("dims,size,stride,window,attn", [
    (2, (9, 7), 1, 4, False), (2, (9, 7), 1, 4, True), (2, (9, 7), 2, 4, False),
    (3, (3, 10, 9), 1, (2, 5, 5), False), (3, (3, 10, 9), 1, (2, 5, 5), True), (3, (3, 10, 9), (1, 2, 2), 5, False),
])
def test_matches_functional_reference(dims, size, stride, window, attn):
    block = _block(dims, attn, stride=stride, window=window, out_chs=16 if stride == 1 else 24)
    x = torch.randn(2, 16, *size, dtype=torch.float64)
    torch.testing.assert_close(block(x), reference_block(block, x), rtol=1e-10, atol=1e-10)


def _inflate(sd2d: dict, sd3d: dict) -> dict:
    """3-D weights equal to 2-D ones on a single frame: 1x1 kernels unsqueezed; k x k depthwise kernels put in the
    centre slice of the (random) k x k x k kernels, which is all a 1-frame clip with temporal padding sees."""
    out = {}
    for k, v in sd2d.items():
        if v.dim() == 4 and v.shape[-1] == 1:
            out[k] = v.unsqueeze(2)
        elif v.dim() == 4:
            w3 = sd3d[k].clone()
            w3[:, :, w3.shape[2] // 2] = v
            out[k] = w3
        else:
            out[k] = v
    return out


@pytest.mark.parametrize("attn,stride", [(False, 1), (False, 2), (True, 1)])
@pytest.mark.parametrize("train", [False, True])
def test_3d_with_one_frame_equals_2d(attn, stride, train):
    b2 = _block(2, attn, stride=stride, out_chs=16 if stride == 1 else 24)
    b3 = _block(3, attn, stride=(1, stride, stride), window=(1, 4, 4), out_chs=16 if stride == 1 else 24, seed=5)
    b3.load_state_dict(_inflate(b2.state_dict(), b3.state_dict()))
    b2.train(train)
    b3.train(train)
    x = torch.randn(2, 16, 9, 7, dtype=torch.float64)
    torch.testing.assert_close(b3(x.unsqueeze(2)).squeeze(2), b2(x), rtol=1e-12, atol=1e-12)


def test_3d_shapes_and_backward():
    """V-EMOv2's stage-3 block at 4 x 160^2: stride (1, 2, 2), windows (2, 5, 5), every parameter gets a gradient."""
    block = MetaMobileBlock(72, 160, exp_ratio=8.0, stride=(1, 2, 2), spatial_dims=3)
    attn = MetaMobileBlock(160, 160, exp_ratio=4.0, attn_mode="spanning", dim_head=32, window_size=(2, 5, 5),
                           norm_layer=norm_layer("ln", 3), act_layer=torch.nn.GELU, spatial_dims=3)
    x = torch.randn(1, 72, 2, 20, 20, requires_grad=True)
    y = attn(block(x))
    assert y.shape == (1, 160, 2, 10, 10)
    assert block.dw.conv.weight.shape == (576, 1, 5, 5, 5)  # cubic depthwise kernels
    y.square().mean().backward()
    assert all(p.grad is not None for p in list(block.parameters()) + list(attn.parameters()))


def test_no_depthwise_conv_means_no_inner_skip():
    """dw_kernel_size=0 drops the depthwise conv and its skip (it used to double the operator's output)."""
    block = _block(2, False, dw_kernel_size=0)
    x = torch.randn(1, 16, 5, 5, dtype=torch.float64)
    h = F.gelu(F.conv2d(block.norm(x), block.op.conv.weight, block.op.conv.bias))
    expected = x + F.conv2d(h, block.proj.weight) * block.layer_scale.gamma.view(1, -1, 1, 1)
    torch.testing.assert_close(block(x), expected, rtol=1e-12, atol=1e-12)
