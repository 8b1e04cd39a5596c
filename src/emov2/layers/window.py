"""Window partitions of N-D maps (swin-style free functions, any number of spatial axes).

A map of size ``S = (S_1, ..., S_d)`` cut into windows ``w = (w_1, ..., w_d)`` (each ``S_i`` a multiple of
``w_i``) has ``n_i = S_i / w_i`` windows along axis ``i``. Two partitions:

* **close** (Swin): window ``(a_1, ..., a_d)`` is the contiguous block of pixels ``a_i * w_i + r_i``;
* **remote** (EMO): window ``(a_1, ..., a_d)`` is the grid of pixels ``r_i * n_i + a_i``, strided by ``n``
  across the whole map (pixel ``p`` sits in window ``p mod n`` at position ``p div n``).

Inside a window, positions ``r`` are row-major. Tensors are channels-last: ``(B, S_1, ..., S_d, C)``.
:func:`window_index` gives the same cuts as gather indices on the flattened map (portable to every exporter).
"""


import torch

__all__ = ["window_grid", "window_index", "window_partition", "window_reverse"]


def _prod(values: list[int]) -> int:
    out = 1
    for v in values:
        out = out * v
    return out


def _split_axes(size: list[int], window: list[int], remote: bool) -> tuple[list[int], list[int], list[int]]:
    """Shape splitting each axis into (window count, window side) and the permutation that groups them."""
    d = len(window)
    shape: list[int] = []
    for s, w in zip(size, window, strict=True):
        n = s // w
        if remote:
            shape += [w, n]
        else:
            shape += [n, w]
    grid = [2 + 2 * i if remote else 1 + 2 * i for i in range(d)]  # axes holding the window counts
    inner = [1 + 2 * i if remote else 2 + 2 * i for i in range(d)]  # axes holding the in-window positions
    return shape, grid, inner


def window_grid(x: torch.Tensor, window: list[int], remote: bool = False) -> torch.Tensor:
    """(B, S_1..S_d, C) -> a (B, n_1..n_d, w_1..w_d, C) view: window coordinates, then in-window positions."""
    b, c = x.shape[0], x.shape[-1]
    shape, grid, inner = _split_axes(list(x.shape[1:-1]), window, remote)
    return x.view([b] + shape + [c]).permute([0] + grid + inner + [len(shape) + 1])


def window_partition(x: torch.Tensor, window: list[int], remote: bool = False) -> torch.Tensor:
    """(B, S_1..S_d, C) -> (B * prod(n), prod(w), C): the windows, grid-major, positions row-major."""
    return window_grid(x, window, remote).reshape(-1, _prod(window), x.shape[-1])


def window_reverse(windows: torch.Tensor, window: list[int], size: list[int], remote: bool = False) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B * prod(n), prod(w), C) -> (B, S_1..S_d, C)."""
    c = windows.shape[-1]
    shape, grid, inner = _split_axes(size, window, remote)
    d = len(window)
    counts = [shape[a - 1] for a in grid]
    x = windows.view([-1] + counts + window + [c])  # (B, n_1..n_d, w_1..w_d, C)
    # where each split axis of the map went in that layout: counts at 1..d, positions at d+1..2d
    order = [0] * (2 * d)
    for i in range(d):
        order[grid[i] - 1] = 1 + i
        order[inner[i] - 1] = 1 + d + i
    return x.permute([0] + order + [2 * d + 1]).reshape([-1] + size + [c])


def _mod(t: torch.Tensor, d: int) -> torch.Tensor:
    """``t % d`` for non-negative ``t``, by floor division (ONNX has no remainder by a symbolic size)."""
    return t - (t // d) * d


def _unravel(t: torch.Tensor, dims: list[int]) -> list[torch.Tensor]:
    """Row-major coordinates of flat indices ``t`` over ``dims`` (the first one is not reduced: t < prod(dims))."""
    coords: list[torch.Tensor] = []
    for i in range(len(dims) - 1, 0, -1):
        coords.insert(0, _mod(t, dims[i]))
        t = t // dims[i]
    coords.insert(0, t)
    return coords


def window_index(
    size: list[int], window: list[int], partitions: list[bool], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather indices cutting a flattened ``size`` map into the windows of each partition, and back.

    The map is padded at the end of every axis to a multiple of the window; a padded position reads index
    ``prod(size)`` (one extra token holding the padding value). ``partitions`` lists the cuts (True = remote).

    Returns:
        gather: (P * N * L,) token index per window position (partitions, then windows, then positions), for
            N windows of L = prod(window) positions.
        scatter: (P * prod(size),) for each partition and real token, its position in ``gather``'s order.

    Built from ``arange`` arithmetic in int32 (as Core ML's gather wants), so symbolic sizes export.
    """
    d = len(size)
    counts = [(s + w - 1) // w for s, w in zip(size, window, strict=True)]
    area, n_windows, n_tokens = _prod(window), _prod(counts), _prod(size)
    t = torch.arange(n_windows * area, dtype=torch.int32, device=device)
    grid = _unravel(t // area, counts)  # window coordinates a_i
    inner = _unravel(_mod(t, area), window)  # in-window coordinates r_i
    p = torch.arange(n_tokens, dtype=torch.int32, device=device)
    pixel = _unravel(p, size)
    gathers: list[torch.Tensor] = []
    scatters: list[torch.Tensor] = []
    for s, remote in enumerate(partitions):
        coords = [inner[i] * counts[i] + grid[i] if remote else grid[i] * window[i] + inner[i] for i in range(d)]
        flat, inside = coords[0], coords[0] < size[0]
        for i in range(1, d):
            inside = inside & (coords[i] < size[i])
            flat = flat * size[i] + coords[i]
        gathers.append(torch.where(inside, flat, n_tokens))
        # pixel y: remote window y mod n at position y div n; close window y div w at position y mod w
        win = [_mod(pixel[i], counts[i]) if remote else pixel[i] // window[i] for i in range(d)]
        pos = [pixel[i] // counts[i] if remote else _mod(pixel[i], window[i]) for i in range(d)]
        win_of, pos_of = win[0], pos[0]
        for i in range(1, d):
            win_of = win_of * counts[i] + win[i]
            pos_of = pos_of * window[i] + pos[i]
        scatters.append(s * n_windows * area + win_of * area + pos_of)
    return torch.cat(gathers), torch.cat(scatters)
