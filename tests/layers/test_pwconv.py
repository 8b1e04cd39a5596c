"""PointwiseConv2d: the GEMM path on channels-last maps equals nn.Conv2d; the fold helpers keep the class."""

import pytest
import torch

from emov2.layers import PointwiseConv2d
from emov2.layers.fuse import fold_scale_after_conv


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("channels_last", [True, False])
def test_matches_conv2d(bias, channels_last):
    torch.manual_seed(0)
    conv = PointwiseConv2d(8, 12, bias=bias).double()
    ref = torch.nn.Conv2d(8, 12, 1, bias=bias).double()
    ref.load_state_dict(conv.state_dict())
    x = torch.randn(2, 8, 5, 7, dtype=torch.float64)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    x.requires_grad_(True)
    y = conv(x)
    assert y.is_contiguous(memory_format=torch.channels_last) == channels_last
    y.square().sum().backward()
    got = [y.detach(), x.grad.clone()] + [p.grad.clone() for p in conv.parameters()]
    x.grad = None
    r = ref(x)
    r.square().sum().backward()
    for a, b in zip(got, [r.detach(), x.grad] + [p.grad for p in ref.parameters()], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_rejects_non_pointwise_and_survives_folding():
    with pytest.raises(ValueError, match="1x1"):
        PointwiseConv2d(4, 4, 3)
    fused = fold_scale_after_conv(PointwiseConv2d(4, 6, bias=False), torch.rand(6))
    assert type(fused) is PointwiseConv2d and fused.bias is None
