"""Window partitions (swin-style functions) and gather indices against hand-computed windows, 2-D and 3-D."""

import pytest
import torch

from emov2.layers import window_index, window_partition, window_reverse

CPU = torch.device("cpu")


def _grid(*size):
    """A (1, *size, 1) map whose values are the flat pixel indices."""
    n = 1
    for s in size:
        n *= s
    return torch.arange(n).view(1, *size, 1)


def test_partition_by_hand_2d():
    # 4x4 map, window 2: close window 0 is the top-left block; remote window 0 takes every second pixel.
    close = window_partition(_grid(4, 4), [2, 2], remote=False)[..., 0]
    remote = window_partition(_grid(4, 4), [2, 2], remote=True)[..., 0]
    assert close[0].tolist() == [0, 1, 4, 5] and close[3].tolist() == [10, 11, 14, 15]
    assert remote[0].tolist() == [0, 2, 8, 10] and remote[1].tolist() == [1, 3, 9, 11]
    # 4x6 map, window 2x3: remote window (1, 0) starts at pixel row 1, col 0 and steps (2, 2)
    remote = window_partition(_grid(4, 6), [2, 3], remote=True)[..., 0]
    assert remote[2].tolist() == [6, 8, 10, 18, 20, 22]


def test_partition_by_hand_3d():
    # (T, H, W) = (2, 2, 4), window (1, 2, 2): close window (1, 0, 1) is frame 1, columns 2-3
    close = window_partition(_grid(2, 2, 4), [1, 2, 2])[..., 0]
    assert close[3].tolist() == [10, 11, 14, 15]
    # remote with window (2, 1, 2): counts (1, 2, 2); window (0, 1, 1) holds rows 1, columns 1 and 3, both frames
    remote = window_partition(_grid(2, 2, 4), [2, 1, 2], remote=True)[..., 0]
    assert remote[3].tolist() == [5, 7, 13, 15]


@pytest.mark.parametrize("size,window", [((4, 6), (2, 3)), ((6, 4, 9), (2, 2, 3)), ((3, 5, 5), (3, 5, 1))])
@pytest.mark.parametrize("remote", [False, True])
def test_reverse_inverts_partition(size, window, remote):
    x = torch.randn(2, *size, 3)
    windows = window_partition(x, list(window), remote)
    assert windows.shape[1] == torch.Size(window).numel()
    assert torch.equal(window_reverse(windows, list(window), list(size), remote), x)


@pytest.mark.parametrize("size,window", [((4, 6), (2, 3)), ((4, 6, 6), (2, 3, 3))])
def test_gather_index_equals_partition_on_aligned_maps(size, window):
    gather, _ = window_index(list(size), list(window), [True, False], CPU)
    expected = torch.cat([window_partition(_grid(*size), list(window), remote).flatten() for remote in (True, False)])
    assert torch.equal(gather.long(), expected)


def test_gather_index_padding_by_hand():
    # 3x3 map, window 2: padded to 4x4; padding reads token 9 (the extra fill token).
    gather, _ = window_index([3, 3], [2, 2], [False], CPU)
    assert gather.view(4, 4)[0].tolist() == [0, 1, 3, 4]
    assert gather.view(4, 4)[3].tolist() == [8, 9, 9, 9]
    assert gather.dtype == torch.int32


@pytest.mark.parametrize("size,window", [((4, 4), (3, 3)), ((3, 5), (3, 3)), ((14, 14), (7, 7)), ((9, 16), (3, 3)),
                                         ((3, 10, 9), (2, 5, 5)), ((5, 4, 7), (2, 3, 3))])
def test_scatter_inverts_gather(size, window):
    gather, scatter = window_index(list(size), list(window), [True, False], CPU)
    n = torch.Size(size).numel()
    assert torch.equal(gather[scatter].long(), torch.arange(n).repeat(2))
