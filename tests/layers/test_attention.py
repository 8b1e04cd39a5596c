"""Window attention against hand-computed window indices and a naive per-window reference."""

import pytest
import torch
import torch.nn.functional as F

from emov2.layers import AttentionMode, WindowAttention, window_index


def test_window_index_by_hand():
    # 4x4 map, window 2: close window 0 is the top-left block; remote window 0 takes every second pixel.
    gather, scatter = window_index(4, 4, 2, (True, False))
    remote, close = gather.view(2, 4, 4)  # partition, window, position
    assert close[0].tolist() == [0, 1, 4, 5] and close[3].tolist() == [10, 11, 14, 15]
    assert remote[0].tolist() == [0, 2, 8, 10] and remote[1].tolist() == [1, 3, 9, 11]
    # 3x3 map, window 2: padded to 4x4; padding reads token 9 (the extra fill token).
    gather, _ = window_index(3, 3, 2, (False,))
    assert gather.view(4, 4)[0].tolist() == [0, 1, 3, 4]
    assert gather.view(4, 4)[3].tolist() == [8, 9, 9, 9]


@pytest.mark.parametrize("hw", [(4, 4), (3, 5), (14, 14), (9, 16)])
def test_scatter_inverts_gather(hw):
    h, w = hw
    gather, scatter = window_index(h, w, 3, (True, False))
    assert torch.equal(gather[scatter], torch.arange(h * w).repeat(2))


def naive_attention(attn: WindowAttention, x: torch.Tensor) -> torch.Tensor:
    """Zero-pad the map, project it, loop over every window of each partition (float64)."""
    b, c, h, w = x.shape
    win = attn.window_size if attn.window_size > 0 else max(h, w)
    hp, wp = -(-h // win) * win, -(-w // win) * win
    if attn.window_size <= 0:
        hp, wp = h, w
    xp = F.pad(x, (0, wp - w, 0, hp - h))
    qk, v = attn.qk(xp), attn.act(attn.v(xp))
    heads, d = attn.num_heads, attn.dim_head
    out = torch.zeros(b, v.shape[1], hp, wp, dtype=x.dtype)
    n1, n2 = (hp // win, wp // win) if attn.window_size > 0 else (1, 1)
    modes = {"spanning": (True, False), "remote": (True,), "close": (False,)}[attn.mode.value]
    if attn.window_size <= 0:
        modes = (False,)  # one window: both partitions are the same; spanning doubles below
    for remote in modes:
        for i in range(n1):
            for j in range(n2):
                if attn.window_size <= 0:
                    rows, cols = torch.arange(hp), torch.arange(wp)
                elif remote:
                    rows, cols = torch.arange(win) * n1 + i, torch.arange(win) * n2 + j
                else:
                    rows, cols = torch.arange(win) + i * win, torch.arange(win) + j * win
                qk_win = qk[:, :, rows][:, :, :, cols].flatten(2)  # (B, 2C, L)
                q, k = qk_win[:, : heads * d].view(b, heads, d, -1), qk_win[:, heads * d:].view(b, heads, d, -1)
                vv = v[:, :, rows][:, :, :, cols].flatten(2).view(b, heads, -1, q.shape[-1])
                a = torch.softmax(q.transpose(-1, -2) @ k * d**-0.5, dim=-1)  # (B, heads, L, L)
                o = (vv @ a.transpose(-1, -2)).reshape(b, -1, len(rows), len(cols))
                out[:, :, rows[:, None], cols[None, :]] += o
    if attn.window_size <= 0 and attn.mode is AttentionMode.SPANNING:
        out = out * 2
    return out[:, :, :h, :w]


@pytest.mark.parametrize("mode", list(AttentionMode))
@pytest.mark.parametrize("hw,window", [((7, 7), 7), ((10, 13), 4), ((5, 5), 7), ((6, 9), 0), ((2, 3), 4)])
def test_matches_naive_reference(mode, hw, window):
    torch.manual_seed(0)
    attn = WindowAttention(32, 48, mode=mode, dim_head=8, window_size=window).double()
    x = torch.randn(2, 32, *hw, dtype=torch.float64)
    torch.testing.assert_close(attn(x), naive_attention(attn, x), rtol=1e-10, atol=1e-10)


def test_padding_uses_projected_zeros_not_zero_tokens():
    """Padding tokens are what zero pixels project to: changing the V bias must change an unaligned map's output."""
    torch.manual_seed(0)
    attn = WindowAttention(16, 16, dim_head=8, window_size=4).double()
    x = torch.randn(1, 16, 5, 5, dtype=torch.float64)
    y = attn(x)
    with torch.no_grad():
        attn.v.bias.add_(1.0)
    shift = attn(x) - y
    assert not torch.allclose(shift, torch.full_like(shift, shift.mean().item()), atol=1e-6)
    torch.testing.assert_close(attn(x), naive_attention(attn, x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("hw,window", [((3, 2), 7), ((10, 13), 4)])
def test_gradients_match_naive_reference(hw, window):
    """Padding tokens carry the biases' gradient (single padded window: the collapsed-padding path)."""
    torch.manual_seed(1)
    attn = WindowAttention(16, 32, dim_head=8, window_size=window).double()
    x = torch.randn(2, 16, *hw, dtype=torch.float64, requires_grad=True)
    grads = []
    for fn in (attn, lambda t: naive_attention(attn, t)):
        attn.zero_grad()
        x.grad = None
        (fn(x) ** 2).sum().backward()
        grads.append([x.grad.clone()] + [p.grad.clone() for p in attn.parameters()])
    for g, ref in zip(*grads, strict=True):
        torch.testing.assert_close(g, ref, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("with_bias", [False, True])
def test_sdpa_path_matches_matmul_path(with_bias):
    """The GPU path (SDPA, here forced on CPU) computes what the CPU matmul path does, padding bias included."""
    from emov2.layers.attention import _attend

    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 4, 8), torch.randn(2, 3, 5, 8), torch.randn(2, 3, 5, 16)
    bias = torch.tensor([[0.0, 0.0, 0.0, 0.0, 3.8]]) if with_bias else None
    torch.testing.assert_close(_attend(q, k, v, bias, sdpa=True), _attend(q, k, v, bias, sdpa=False))


@pytest.mark.parametrize("mode", list(AttentionMode))
@pytest.mark.parametrize("hw,window", [((8, 12), 4), ((14, 14), 7), ((4, 4), 4), ((10, 13), 4), ((9, 7), 3)])
def test_permute_cut_matches_gather_cut(mode, hw, window):
    """The GPU window cut (reshape/permute, forced here on CPU) equals the gather cut and the naive reference,
    values and gradients, on tiled and padded maps."""
    torch.manual_seed(2)
    attn = WindowAttention(16, 32, mode=mode, dim_head=8, window_size=window).double()
    x = torch.randn(2, 16, *hw, dtype=torch.float64, requires_grad=True)
    results = []
    for cut in ("gather", "permute"):
        attn.window_cut = cut
        attn.zero_grad()
        x.grad = None
        y = attn(x)
        (y ** 2).sum().backward()
        results.append([y.detach()] + [x.grad.clone()] + [p.grad.clone() for p in attn.parameters()])
    for got, ref in zip(results[1], results[0], strict=True):
        torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(results[1][0], naive_attention(attn, x.detach()), rtol=1e-10, atol=1e-10)
