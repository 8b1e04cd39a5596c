"""Export capture is detected under torch.export (strict and not) and not under torch.compile, so compiled models
keep the fast paths (GEMM 1x1 convs, concrete window indices) and exported graphs get the portable ones."""

import torch
from torch import nn

from emov2.layers import PointwiseConv2d
from emov2.layers.capture import capturing_for_export, exporting


class _Probe(nn.Module):
    def forward(self, x):
        return x + 10 * exporting() + capturing_for_export()


def _graph_ops(fn, x) -> str:
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    torch.compile(fn, backend=backend, fullgraph=True)(x)
    return graphs[0].code


def test_eager_and_compile_are_not_export():
    x = torch.zeros(1)
    assert _Probe()(x).item() == 0
    assert torch.compile(_Probe(), fullgraph=True)(x).item() == 0


def test_export_is_export():
    x = torch.zeros(1)
    for strict in (False, True):
        assert torch.export.export(_Probe(), (x,), strict=strict).module()(x).item() == 11


def test_compiled_pointwise_conv_stays_a_gemm():
    conv = PointwiseConv2d(8, 16)
    x = torch.randn(2, 8, 5, 5).contiguous(memory_format=torch.channels_last)
    code = _graph_ops(conv, x)
    assert "linear" in code and "conv2d" not in code
    exported = torch.export.export(conv, (x,)).graph_module.code
    assert "conv2d" in exported and "linear" not in exported
