"""Window attention: every kernel against a naive per-window float64 loop (values and gradients), 2-D and 3-D,
the 3-D layer against the 2-D one, and the construction-time kernel choice."""

import itertools
import math

import pytest
import timm
import torch
import torch.nn.functional as F

from emov2.layers import AttentionMode, WindowAttention, configure_layers, exportable_layers
from emov2.layers.attention_kernels import attend

IMPLS = ("reference", "gather", "permute")
MODES = {"spanning": (True, False), "remote": (True,), "close": (False,)}


def naive_attention(attn: WindowAttention, x: torch.Tensor) -> torch.Tensor:
    """Zero-pad the map, project it, loop over every window of each partition: pixel p of a padded axis with n
    windows of side w sits in remote window p mod n, or in close window p div w (float64, any dimensionality)."""
    b, _, *size = x.shape
    win = [s if w <= 0 else w for s, w in zip(size, attn.window, strict=True)]
    counts = [math.ceil(s / w) for s, w in zip(size, win, strict=True)]
    padded = [n * w for n, w in zip(counts, win, strict=True)]
    pads = []
    for s, p in reversed(list(zip(size, padded, strict=True))):
        pads += [0, p - s]
    xp = F.pad(x, pads)
    qk, v = attn.qk(xp).flatten(2), attn.act(attn.v(xp)).flatten(2)  # (B, 2C | M, prod(padded))
    heads, d = attn.num_heads, attn.dim_head
    strides = [math.prod(padded[i + 1:]) for i in range(len(padded))]
    out = torch.zeros_like(v)
    for remote in MODES[attn.mode.value]:
        for a in itertools.product(*[range(n) for n in counts]):
            axes = [torch.arange(w) * n + ai if remote else torch.arange(w) + ai * w
                    for ai, n, w in zip(a, counts, win, strict=True)]
            flat = sum(c * st for c, st in zip(torch.meshgrid(*axes, indexing="ij"), strides, strict=True)).flatten()
            q, k = qk[:, : heads * d, flat].view(b, heads, d, -1), qk[:, heads * d:, flat].view(b, heads, d, -1)
            vv = v[:, :, flat].view(b, heads, -1, flat.numel())
            att = torch.softmax(q.transpose(-1, -2) @ k * d**-0.5, dim=-1)  # (B, heads, L, L)
            out[:, :, flat] += (vv @ att.transpose(-1, -2)).reshape(b, -1, flat.numel())
    out = out.view(b, -1, *padded)
    for i, s in enumerate(size):
        out = out.narrow(i + 2, 0, s)
    return out


CASES_2D = [((7, 7), 7), ((10, 13), 4), ((5, 5), 7), ((6, 9), 0), ((2, 3), 4), ((8, 12), 4), ((9, 7), 3)]
CASES_3D = [((3, 10, 9), (2, 5, 5)), ((2, 5, 5), (2, 5, 5)), ((1, 4, 3), (2, 5, 5)), ((3, 4, 6), (0, 2, 3))]


def _layer(mode, window, impl, dims=2, seed=0, dim=16, dim_out=32):
    torch.manual_seed(seed)
    return WindowAttention(dim, dim_out, mode=mode, dim_head=8, window_size=window, impl=impl,
                           spatial_dims=dims).double()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("mode", list(AttentionMode))
@pytest.mark.parametrize("size,window", CASES_2D + CASES_3D)
def test_matches_naive_reference(impl, mode, size, window):
    attn = _layer(mode, window, impl, dims=len(size))
    x = torch.randn(2, 16, *size, dtype=torch.float64)
    y = attn(x)
    assert y.shape == (2, 32, *size)
    torch.testing.assert_close(y, naive_attention(attn, x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("mode", ["spanning", "close"])
@pytest.mark.parametrize("size,window", [((3, 2), 7), ((10, 13), 4), ((8, 8), 4), ((3, 7, 9), (2, 5, 5))])
def test_gradients_match_naive_reference(impl, mode, size, window):
    """Input and every parameter, padding tokens included (they carry the Q/K/V biases' gradients)."""
    attn = _layer(mode, window, impl, dims=len(size), seed=1)
    x = torch.randn(2, 16, *size, dtype=torch.float64, requires_grad=True)
    grads = []
    for fn in (attn, lambda t: naive_attention(attn, t)):
        attn.zero_grad()
        x.grad = None
        (fn(x) ** 2).sum().backward()
        grads.append([x.grad.clone()] + [p.grad.clone() for p in attn.parameters()])
    for g, ref in zip(*grads, strict=True):
        torch.testing.assert_close(g, ref, rtol=1e-9, atol=1e-10)


def test_padding_uses_projected_zeros_not_zero_tokens():
    """Padding tokens are what zero pixels project to: changing the V bias must change an unaligned map's output."""
    attn = _layer("spanning", 4, "permute")
    x = torch.randn(1, 16, 5, 5, dtype=torch.float64)
    y = attn(x)
    with torch.no_grad():
        attn.v.bias.add_(1.0)
    shift = attn(x) - y
    assert not torch.allclose(shift, torch.full_like(shift, shift.mean().item()), atol=1e-6)
    torch.testing.assert_close(attn(x), naive_attention(attn, x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("act", [torch.nn.SiLU, lambda: torch.nn.GELU(approximate="tanh"), torch.nn.Hardswish])
@pytest.mark.parametrize("impl", ["gather", "permute"])
@pytest.mark.parametrize("size", [(5, 5), (10, 13)])
def test_padding_token_activation(act, impl, size):
    """V's padding token goes through V's activation, named for the kernels (SiLU, tanh-GELU) or not (Hardswish)."""
    torch.manual_seed(0)
    attn = WindowAttention(16, 32, dim_head=8, window_size=7 if size == (5, 5) else 4, impl=impl,
                           act_layer=act).double()
    x = torch.randn(2, 16, *size, dtype=torch.float64)
    torch.testing.assert_close(attn(x), naive_attention(attn, x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", list(AttentionMode))
@pytest.mark.parametrize("impl", IMPLS)
def test_3d_with_one_frame_equals_2d(mode, impl):
    """A (B, C, 1, H, W) clip with window (1, w, w) is the 2-D layer with the same (unsqueezed) weights."""
    a2 = _layer(mode, 4, impl, dims=2)
    a3 = _layer(mode, (1, 4, 4), impl, dims=3)
    a3.load_state_dict({k: v.unsqueeze(2) for k, v in a2.state_dict().items() if v.dim() == 4} |
                       {k: v for k, v in a2.state_dict().items() if v.dim() != 4})
    x = torch.randn(2, 16, 9, 6, dtype=torch.float64)
    torch.testing.assert_close(a3(x.unsqueeze(2)).squeeze(2), a2(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("with_bias", [False, True])
def test_sdpa_matches_matmuls(with_bias):
    """The fused path (SDPA; flash kernels on GPU) computes what the matmul path does, padding bias included."""
    q, k, v = torch.randn(2, 3, 4, 8), torch.randn(2, 3, 5, 8), torch.randn(2, 3, 5, 16)
    bias = torch.tensor([[0.0, 0.0, 0.0, 0.0, 3.8]]) if with_bias else None
    torch.testing.assert_close(attend(q, k, v, bias, True), attend(q, k, v, bias, False))


def test_fused_attention_layer_matches():
    attn = _layer("spanning", 4, "permute").float()
    x = torch.randn(2, 16, 10, 13)
    ref = attn(x)
    configure_layers(attn, fused_attn=True)
    assert attn.fused_attn
    torch.testing.assert_close(attn(x), ref, rtol=1e-5, atol=1e-6)


def test_kernel_is_chosen_at_construction():
    assert WindowAttention(16, 32, dim_head=8).impl == "permute"
    assert WindowAttention(16, 32, dim_head=8, exportable=True).impl == "gather"
    with timm.layers.set_layer_config(exportable=True):
        attn = WindowAttention(16, 32, dim_head=8)
    assert attn.impl == "gather" and attn.qk.exportable and not attn.fused_attn
    assert not WindowAttention(16, 32, dim_head=8, device="meta").fused_attn  # SDPA only for CUDA devices
    with pytest.raises(ValueError, match="unknown attention impl 'fast'"):
        WindowAttention(16, 32, dim_head=8, impl="fast")
    with pytest.raises(ValueError, match="window_size needs 3 values"):
        WindowAttention(16, 32, dim_head=8, window_size=(2, 5), spatial_dims=3)


def test_exportable_layers_switches_and_restores():
    attn = WindowAttention(16, 32, dim_head=8)
    with exportable_layers(attn):
        assert attn.impl == "gather" and attn.qk.exportable and attn.v.exportable
    assert attn.impl == "permute" and not attn.qk.exportable
    reference = WindowAttention(16, 32, dim_head=8, impl="reference")
    with exportable_layers(reference):
        assert reference.impl == "reference"  # an explicit choice is kept


def test_symbolic_sizes_export_with_the_gather_kernel_and_compile_with_permute():
    """torch.export with symbolic H/W takes the exportable (gather) kernel: one graph for every size. The permute
    kernel branches on the size, which torch.compile turns into guards (and torch.export refuses)."""
    attn = WindowAttention(16, 32, dim_head=8, window_size=4).eval()
    x = torch.randn(1, 16, 8, 8)
    dims = {"x": {2: torch.export.Dim("h", min=5, max=64), 3: torch.export.Dim("w", min=5, max=64)}}
    compiled = torch.compile(attn, backend="eager", dynamic=True, fullgraph=True)  # guards are fine there
    for hw in ((8, 8), (12, 16)):  # one symbolic graph for both (aligned, several windows)
        xi = torch.randn(2, 16, *hw)
        torch.testing.assert_close(compiled(xi), attn(xi), rtol=1e-5, atol=1e-6)
    with exportable_layers(attn):
        program = torch.export.export(attn, (x,), dynamic_shapes=dims)
    x2 = torch.randn(1, 16, 11, 6)
    torch.testing.assert_close(program.module()(x2), attn(x2), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("hw,windows", [((7, 7), 1), ((14, 14), 8)])
def test_exported_single_window_map_attends_once(hw, windows):
    """A 7x7 map in a 7-window (stage 4 at 224 px) is one window: the exported graph's softmax runs over one window
    per image, not over a remote and a close copy of it."""
    attn = WindowAttention(16, 32, dim_head=8, window_size=7).eval()
    with exportable_layers(attn):
        program = torch.export.export(attn, (torch.randn(2, 16, *hw),))
    softmax = [n for n in program.graph.nodes if n.op == "call_function" and "softmax" in str(n.target)]
    assert len(softmax) == 1
    assert softmax[0].meta["val"].shape[0] == 2 * windows  # batch 2 x windows (x 2 partitions where they differ)
