"""The depthwise conv's matmul path on tiny maps against ``F.conv2d`` (values and all gradients, float64)."""

import pytest
import torch
import torch.nn.functional as F

from emov2.layers import DepthwiseConv2d
from emov2.layers.dwconv import tap_index


def test_tap_index_by_hand():
    # 2x2 map, 3x3 kernel, padding 1: output (0,0) reads input (0,0) through the centre tap 4, (0,1) through 5,
    # (1,0) through 7, (1,1) through 8.
    index, ho, wo = tap_index(2, 2, 3, 1, 1)
    assert (ho, wo) == (2, 2)
    assert index[0].tolist() == [4, 5, 7, 8]
    assert index[3].tolist() == [0, 1, 3, 4]
    # 3x3 map, stride 2, kernel 3, padding 1 -> 2x2 output; output (1,1) sits on input (2,2), reaching (1,1)..(2,2).
    index, ho, wo = tap_index(3, 3, 3, 2, 1)
    assert (ho, wo) == (2, 2)
    assert index[3].tolist() == [9, 9, 9, 9, 0, 1, 9, 3, 4]  # 9 = the zero slot (a tap outside the kernel)


@pytest.mark.parametrize("hw", [(1, 1), (2, 2), (1, 3), (3, 2), (4, 4), (6, 6)])
@pytest.mark.parametrize("kernel,stride", [(5, 1), (5, 2), (3, 1), (3, 2)])
def test_matches_conv2d(hw, kernel, stride):
    torch.manual_seed(0)
    conv = DepthwiseConv2d(6, 6, kernel, stride=stride, padding=kernel // 2, groups=6, bias=True).double()
    x = torch.randn(2, 6, *hw, dtype=torch.float64, requires_grad=True)
    y = conv(x)
    grad = torch.randn_like(y)
    y.backward(grad)
    got = (y.detach(), x.grad.clone(), conv.weight.grad.clone(), conv.bias.grad.clone())
    x.grad = conv.weight.grad = conv.bias.grad = None
    ref = F.conv2d(x, conv.weight, conv.bias, stride, kernel // 2, 1, 6)
    ref.backward(grad)
    for a, b in zip(got, (ref.detach(), x.grad, conv.weight.grad, conv.bias.grad), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("hw", [(1, 1), (2, 3), (4, 4), (3, 5)])
@pytest.mark.parametrize("kernel,stride", [(5, 1), (3, 2)])
def test_integer_memo_equals_tap_index(hw, kernel, stride):
    from emov2.layers.dwconv import _tap_table

    table, ho, wo = _tap_table(*hw, kernel, stride, kernel // 2)
    index, ho2, wo2 = tap_index(*hw, kernel, stride, kernel // 2)
    assert (ho, wo) == (ho2, wo2) and torch.tensor(table).view(index.shape).equal(index)
