"""Precise-BN on a tiny EMOv2 trained from scratch: the eval-mode collapse, its detection and its repair."""

from __future__ import annotations

import copy
import math
import random
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

import emov2
from emov2.engine.precise_bn import (
    bn_layers,
    bn_stats_immature,
    check_bn_stats,
    mature_updates,
    recompute_bn_stats,
)

from .ddp_worker import Toy, ddp_worker, toy_batches

COLOURS = torch.tensor([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])


def colour_batch(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 3, 32, 32) noisy images of 3 colour classes (normalised) and their labels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = COLOURS[y][:, :, None, None] + 0.3 * torch.randn(n, 3, 32, 32, generator=g)
    return (x - 0.45) / 0.25, y


@pytest.fixture(scope="module")
def collapsed() -> nn.Module:
    """emov2_1m at 32 px (window 2) after 30 AdamW steps from scratch: train loss falls, eval mode is collapsed."""
    torch.manual_seed(0)
    model = emov2.create_model("emov2_1m", num_classes=3, window_size=2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    model.train()
    for step in range(30):
        x, y = colour_batch(16, seed=step)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def _eval_probs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    was = model.training
    model.eval()
    with torch.no_grad():
        p = model(x).softmax(-1)
    model.train(was)
    return p


def _train_batches(n: int = 8, size: int = 16, first_seed: int = 1000) -> list:
    return [colour_batch(size, first_seed + i) for i in range(n)]


def _reference_stats(model: nn.Module, batches: list) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Mean over batches of each BatchNorm input's per-channel mean and unbiased variance, computed with hooks on
    a copy whose BatchNorms alone are in train mode (its running buffers are not read in train mode)."""
    ref = copy.deepcopy(model)
    ref.eval()
    seen: dict[str, list] = {}
    hooks = []
    for name, m in ref.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.train()

            def fn(_m, args, name=name):
                t = args[0].double()
                dims = [d for d in range(t.ndim) if d != 1]
                seen.setdefault(name, []).append((t.mean(dims), t.var(dims, unbiased=True)))

            hooks.append(m.register_forward_pre_hook(fn))
    with torch.no_grad():
        for x in batches:
            ref(x)
    for h in hooks:
        h.remove()
    return {k: (torch.stack([a for a, _ in v]).mean(0), torch.stack([b for _, b in v]).mean(0))
            for k, v in seen.items()}


def test_collapse_with_immature_stats(collapsed: nn.Module) -> None:
    x, y = colour_batch(48, seed=1)
    p = _eval_probs(collapsed, x)
    assert p.std(0).max() < 0.02  # the same softmax for every input
    model = copy.deepcopy(collapsed).train()
    with torch.no_grad():
        train_pred = model(x).argmax(-1)
    assert (train_pred == y).float().mean() > 0.8  # while batch statistics classify well
    reason = check_bn_stats(collapsed)
    assert bn_stats_immature(collapsed) and "30 BatchNorm updates, fewer than the 153" in reason


def test_recompute_fixes_eval_and_matches_the_inputs_bn_sees(collapsed: nn.Module) -> None:
    model = copy.deepcopy(collapsed)
    xs = [x for x, _ in _train_batches()]
    ref = _reference_stats(model, xs)
    # the loader format of collate_skip_bad, with one batch made only of unreadable images
    batches = [(x, torch.zeros(len(x)), 0) for x in xs[:4]] + [(None, None, 16)] + [(x, None, 1) for x in xs[4:]]
    assert recompute_bn_stats(model, batches) == 8 * 16
    for name, bn in bn_layers(model):
        mean, var = ref[name]
        torch.testing.assert_close(bn.running_mean.double(), mean, rtol=1e-4, atol=1e-12)
        torch.testing.assert_close(bn.running_var.double(), var, rtol=1e-4, atol=1e-16)
    x, y = colour_batch(48, seed=1)
    p = _eval_probs(model, x)
    assert p.std(0).max() > 0.2 and (p.argmax(-1) == y).float().mean() > 0.8
    assert check_bn_stats(model, probe=colour_batch(16, seed=7)[0]) is None


def test_recompute_touches_only_the_running_buffers(collapsed: nn.Module) -> None:
    model = copy.deepcopy(collapsed).train()
    model.stages[0].eval()  # a frozen part: keeps its flag and its BatchNorm buffers
    frozen = {k: v.clone() for k, v in model.stages[0].state_dict().items()}
    odd = bn_layers(model)[-1][1]
    odd.momentum = 0.01
    params = {k: v.clone() for k, v in model.named_parameters()}
    flags = {k: m.training for k, m in model.named_modules()}
    x = colour_batch(16, seed=3)[0]
    running_var = model.stages[1].blocks[0].norm.running_var.clone()
    with torch.no_grad():  # a full training-mode forward (stage 0 included), on a copy: it updates the buffers
        torch.manual_seed(5)  # the same drop-path draws in both forwards
        train_out_before = copy.deepcopy(model).train()(x)
    def drawn_batches():  # drawing batches uses every random generator, as a loader with RandAugment does
        for _ in range(4):
            random.random()
            np.random.rand()
            yield torch.randn(16, 3, 32, 32)

    states = torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()
    recompute_bn_stats(model, drawn_batches())
    assert torch.equal(torch.get_rng_state(), states[0]) and random.getstate() == states[1]
    assert (np.random.get_state()[1] == states[2]).all()
    for k, v in model.named_parameters():
        assert torch.equal(v, params[k]), k
    assert {k: m.training for k, m in model.named_modules()} == flags
    assert all(torch.equal(v, frozen[k]) for k, v in model.stages[0].state_dict().items())
    assert not torch.equal(model.stages[1].blocks[0].norm.running_var, running_var)  # re-estimated
    assert odd.momentum == 0.01 and all(bn.momentum == 0.1 for _, bn in bn_layers(model) if bn is not odd)
    assert check_bn_stats(model) is None  # frozen stage 0 (30 updates) is not judged
    with torch.no_grad():
        torch.manual_seed(5)
        train_out_after = copy.deepcopy(model).train()(x)
    assert torch.equal(train_out_before, train_out_after)  # what training computes is unchanged


def test_mature_stats_are_reported_mature(collapsed: nn.Module) -> None:
    """Momentum updates from train-mode forwards of the same weights (no optimiser) mature the buffers."""
    model = copy.deepcopy(collapsed).train()
    with torch.no_grad():
        for i in range(160 - 30):
            model(colour_batch(4, seed=2000 + i)[0])
    probe = colour_batch(16, seed=7)[0]
    assert check_bn_stats(model) is None and check_bn_stats(model, probe=probe) is None
    x, y = colour_batch(48, seed=1)
    assert (_eval_probs(model, x).argmax(-1) == y).float().mean() > 0.8
    # buffers that belong to other weights (an EMA copy, say) pass the count but not the probe
    other = copy.deepcopy(model)
    fresh = emov2.create_model("emov2_1m", num_classes=3, window_size=2)
    for (_, bn), (_, bf) in zip(bn_layers(other), bn_layers(fresh), strict=True):
        bn.running_mean.copy_(bf.running_mean)
        bn.running_var.copy_(bf.running_var)
    assert check_bn_stats(other) is None
    assert "running variance is" in check_bn_stats(other, probe=probe)


def test_mature_updates_by_hand() -> None:
    assert mature_updates(0.1, 1e-6) == 153 == math.ceil(math.log(1e-7) / math.log(0.9))  # 0.9**153 < 1e-7
    assert 0.9 ** 153 < 1e-7 < 0.9 ** 152
    assert mature_updates(0.1, 1e-5) == 132 and mature_updates(None, 1e-5) == 1 and mature_updates(0.0, 1e-5) == 0


def test_batchnorm_1d_2d_3d_with_dropout_off() -> None:
    torch.manual_seed(0)
    model = Toy().train()
    xs = toy_batches(0)
    ref = _reference_stats(model, xs)  # its dropout is in eval mode: what eval will feed bn2
    recompute_bn_stats(model, iter(xs), num_batches=10)
    for name, bn in bn_layers(model):
        torch.testing.assert_close(bn.running_mean.double(), ref[name][0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(bn.running_var.double(), ref[name][1], rtol=1e-5, atol=1e-6)
    assert model.bn2.momentum is None and int(model.bn2.num_batches_tracked) == 5 and model.training
    # num_batches limits the batches used
    limited = Toy()
    limited.load_state_dict(model.state_dict())
    recompute_bn_stats(limited, xs, num_batches=2)
    torch.testing.assert_close(limited.bn3.running_mean.double(), _reference_stats(model, xs[:2])["bn3"][0])


def test_no_images_is_an_error_and_changes_nothing() -> None:
    model = Toy()
    state = copy.deepcopy(model.state_dict())
    with pytest.raises(ValueError, match="held no images"):
        recompute_bn_stats(model, [(None, None, 4)])
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ddp_ranks_end_with_the_average_over_all_batches(tmp_path) -> None:
    # fork: the children inherit the imported torch (spawning re-imports it, ~10 s on a busy machine)
    mp.start_processes(ddp_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True, start_method="fork")
    out = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    torch.manual_seed(0)
    ref = _reference_stats(Toy(), toy_batches(seed=10, n=2) + toy_batches(seed=11, n=3))
    assert out[0]["used"] == 2 * 6 and out[1]["used"] == 3 * 6 and out[0]["immature"] and out[1]["immature"]
    for rank in (0, 1):
        state = out[rank]["state"]
        for name in ("bn1", "bn2", "bn3"):
            torch.testing.assert_close(state[f"{name}.running_mean"].double(), ref[name][0], rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(state[f"{name}.running_var"].double(), ref[name][1], rtol=1e-5, atol=1e-6)
        assert int(state["bn2.num_batches_tracked"]) == 5  # momentum None: the batches averaged over both ranks
