"""Precise BatchNorm statistics: tell when running statistics cannot be trusted, and re-estimate them.

Why: the official EMOv2 design scales the downsampling blocks, which have no skip, by a layer scale of 1e-6
at init, so after stage 0 the activations are ~1e-4 and after stage 1 ~1e-8. A BatchNorm's running variance
starts at 1 and moves by momentum 0.1 per training step, so until the 1 has decayed below the tiny true
variance (and below ``eps``), eval mode divides by a far too large standard deviation and the network gives the
same output for every input (emov2_1m on 3 colour classes: one class predicted for every image after 70 steps,
while the training loss is 0.04; 100% after re-estimating the statistics). :func:`bn_stats_immature` detects
this, by the number of updates (the initial value's weight ``(1 - momentum) ** n`` must be small against
``eps``) and, given a probe batch, by comparing each layer's running variance with the variance of the input it
actually sees. :func:`recompute_bn_stats` then re-estimates the running mean and variance as the plain average
over training batches (momentum ``None``: the cumulative average, as the precise-BN of pycls/detectron2/fvcore
does), with every BatchNorm in train mode and every other module in eval mode (no dropout, no drop-path: the
statistics of what eval mode will feed each layer).

What it does not change: a training-mode forward normalises each batch by that batch's own statistics and
never reads the running buffers, so the loss, the gradients and every parameter are exactly what they would be
without it; only the running mean/variance buffers (used in eval mode, and by export/fusion) are replaced.
Frozen BatchNorms (left in eval mode while the model trains) are not touched, and the random number generators
(torch, Python, NumPy) are restored after drawing the batches. A full ImageNet run therefore computes the same
training steps whether or not precise-BN runs; only the buffers of the weights it evaluates and saves can differ.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Iterable

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["bn_layers", "bn_stats_immature", "check_bn_stats", "mature_updates", "recompute_bn_stats",
           "unwrap_model"]


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside DDP / DataParallel (``.module``) or ``torch.compile`` (``._orig_mod``) wrappers."""
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def bn_layers(model: nn.Module) -> list[tuple[str, _BatchNorm]]:
    """(name, layer) of every BatchNorm (1d/2d/3d, SyncBatchNorm) that keeps running statistics."""
    return [(n, m) for n, m in unwrap_model(model).named_modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats and m.running_var is not None]


def _target_layers(model: nn.Module) -> list[tuple[str, _BatchNorm]]:
    """The BatchNorms whose statistics training maintains: those in train mode (one left in eval mode while the
    model trains is frozen, as fvcore's precise-BN treats it), or all of them when none is in train mode."""
    layers = bn_layers(model)
    return [(n, m) for n, m in layers if m.training] or layers


def mature_updates(momentum: float | None, eps: float, tol: float = 0.1) -> int:
    """Momentum updates after which the initial running variance (1) weighs less than ``tol * eps``.

    153 for momentum 0.1 and eps 1e-6 (EMOv2), 132 for eps 1e-5; 1 for the cumulative average (momentum None);
    0 for momentum 0 (statistics deliberately frozen).
    """
    if momentum is None or momentum >= 1:
        return 1  # the first update replaces the initial value
    if momentum <= 0:
        return 0
    return math.ceil(math.log(tol * eps) / math.log(1 - momentum))


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _first_tensor(batch) -> torch.Tensor | None:
    """The images of a batch: a tensor, or the first entry of a tuple/list (``(x, y)`` or ``(x, y, skipped)``)."""
    if isinstance(batch, (tuple, list)):
        batch = batch[0] if batch else None
    return batch if isinstance(batch, torch.Tensor) or batch is None else None


def _device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    if p is None:
        p = next(model.buffers(), None)
    return p.device if p is not None else torch.device("cpu")


@contextlib.contextmanager
def _modes(model: nn.Module, bn_train: list[_BatchNorm]):
    """Every module in eval mode but the BatchNorms ``bn_train`` (train mode); restores each module's flag."""
    flags = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        for bn in bn_train:
            bn.train()
        yield
    finally:
        for m, flag in flags:
            m.training = flag


@contextlib.contextmanager
def _keep_rng(device: torch.device):
    """Restore the torch (CPU and ``device``), Python and NumPy random states on exit."""
    py, npy = random.getstate(), np.random.get_state()
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type if devices else "cuda"):
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(npy)


@torch.no_grad()
def _probe_stats(model: nn.Module, x: torch.Tensor, autocast) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per BatchNorm: (mean, biased variance) per channel of the input it sees in an eval-mode forward of ``x``."""
    stats, hooks = {}, []

    def hook(name):
        def fn(_mod, args):
            t = args[0].detach().float()
            dims = [d for d in range(t.ndim) if d != 1]
            stats[name] = (t.mean(dims), t.var(dims, unbiased=False))
        return fn

    for name, bn in _target_layers(model):
        hooks.append(bn.register_forward_pre_hook(hook(name)))
    try:
        with _modes(model, []), autocast():
            model(x.to(_device(model)))
    finally:
        for h in hooks:
            h.remove()
    return stats


def check_bn_stats(model: nn.Module, probe: torch.Tensor | None = None, *, tol: float = 0.1,
                   max_var_ratio: float = 4.0, max_mean_shift: float = 1.0,
                   autocast=contextlib.nullcontext) -> str | None:
    """Why the BatchNorm running statistics of ``model`` cannot be trusted yet, or None when they can.

    Immature when a layer has had fewer updates than :func:`mature_updates` (its initial running variance still
    weighs more than ``tol * eps``), or, given a ``probe`` batch of training images (B, C, H, W), when in an
    eval-mode forward a layer's normaliser is off: the geometric mean over channels of
    ``(running_var + eps) / (var + eps)`` (``var`` of the input that layer sees) outside
    ``[1 / max_var_ratio, max_var_ratio]``, or the median over channels of ``|running_mean - mean| /
    sqrt(var + eps)`` above ``max_mean_shift``. The probe check also catches buffers that belong to other weights
    (an EMA model whose buffers are copied from the trained model). Under ``torch.distributed`` this is a
    collective (the ranks agree, immature if any rank says so): call it on every rank.
    """
    model = unwrap_model(model)
    layers = _target_layers(model)
    reason = None
    for name, bn in layers:
        need = mature_updates(bn.momentum, bn.eps, tol)
        if int(bn.num_batches_tracked) < need:
            reason = (f"{name} has seen {int(bn.num_batches_tracked)} BatchNorm updates, fewer than the {need} after "
                      f"which its initial running variance is negligible (momentum {bn.momentum}, eps {bn.eps:g})")
            break
    if reason is None and probe is not None and layers:
        stats = _probe_stats(model, probe, autocast)
        for name, bn in layers:
            if name not in stats:
                continue
            mean, var = stats[name]
            rv, rm = bn.running_var.float(), bn.running_mean.float()
            ratio = torch.exp(torch.log((rv + bn.eps) / (var + bn.eps)).mean()).item()
            shift = ((rm - mean).abs() / (var + bn.eps).sqrt()).median().item()
            if not 1 / max_var_ratio <= ratio <= max_var_ratio:
                reason = (f"{name}: running variance is {ratio:.3g}x the variance of its input on a probe batch "
                          f"(allowed 1/{max_var_ratio:g}..{max_var_ratio:g})")
            elif shift > max_mean_shift:
                reason = (f"{name}: running mean is {shift:.3g} standard deviations off the mean of its input on a "
                          f"probe batch (allowed {max_mean_shift:g})")
            if reason:
                break
    if _distributed():
        flag = torch.tensor([reason is not None], dtype=torch.float32,
                            device=_device(model) if dist.get_backend() == "nccl" else "cpu")
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if flag.item() and reason is None:
            reason = "another process found its BatchNorm statistics immature"
    return reason


def bn_stats_immature(model: nn.Module, probe: torch.Tensor | None = None, **kwargs) -> bool:
    """True when the BatchNorm running statistics cannot be trusted yet (see :func:`check_bn_stats`)."""
    return check_bn_stats(model, probe, **kwargs) is not None


@torch.no_grad()
def recompute_bn_stats(model: nn.Module, batches: Iterable, num_batches: int = 200,
                       autocast=contextlib.nullcontext) -> int:
    """Re-estimate every BatchNorm's running mean and variance on up to ``num_batches`` of ``batches``.

    ``batches`` yields image tensors (B, C, H, W) or tuples whose first entry is one (``(x, y)``, or
    ``(x, y, skipped)`` from :func:`emov2.data.folder.collate_skip_bad`, where ``x`` may be None). Each running
    mean becomes the average of the per-batch means of that layer's input, each running variance the average of
    the per-batch (unbiased) variances: exactly PyTorch's cumulative average (momentum ``None``) from reset
    buffers, computed with the BatchNorms in train mode and all other modules in eval mode. Call it with the
    model as training leaves it: a BatchNorm in eval mode in a model in train mode is frozen and left alone (with
    the whole model in eval mode every BatchNorm is re-estimated). Under
    ``torch.distributed`` (call it on every rank) the result is averaged over the ranks, so all hold the same
    buffers. Parameters, other buffers, each module's training flag, each layer's momentum and the random
    states are left as they were; ``num_batches_tracked`` becomes at least :func:`mature_updates` (for a layer
    with momentum None: the number of batches averaged). A layer that no batch reached keeps its old buffers.
    Returns the number of images used (on this process); raises ``ValueError`` (buffers unchanged) when
    ``batches`` held none.
    """
    net = unwrap_model(model)
    layers = [bn for _, bn in _target_layers(net)]
    if not layers:
        return 0
    saved = [(bn.momentum, bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone())
             for bn in layers]
    device, images, done = _device(net), 0, False
    try:
        for bn in layers:
            bn.reset_running_stats()
            bn.momentum = None
        with _modes(net, layers), _keep_rng(device), autocast():
            for i, batch in enumerate(batches):
                if i >= num_batches:
                    break
                x = _first_tensor(batch)
                if x is None or len(x) == 0:
                    continue
                net(x.to(device, non_blocking=True))
                images += len(x)
        total_images = images
        if _distributed():  # average over every batch of every rank (weighted by each rank's batch count)
            counts = torch.stack([bn.num_batches_tracked for bn in layers]).float()
            packed = torch.cat([torch.cat([bn.running_mean.float() * n, bn.running_var.float() * n])
                                for bn, n in zip(layers, counts, strict=True)]
                               + [counts, torch.tensor([float(images)], device=counts.device)])
            if dist.get_backend() != "nccl":
                packed = packed.cpu()
            dist.all_reduce(packed, op=dist.ReduceOp.SUM)
            packed, offset, total_images = packed.to(device), 0, int(packed[-1].item())
            for bn, n in zip(layers, packed[-len(layers) - 1:-1], strict=True):
                c = bn.running_mean.numel()
                if n > 0:
                    bn.running_mean.copy_(packed[offset:offset + c] / n)
                    bn.running_var.copy_(packed[offset + c:offset + 2 * c] / n)
                    bn.num_batches_tracked.fill_(int(n.item()))
                offset += 2 * c
        if not total_images:
            raise ValueError("recompute_bn_stats: the batches held no images (expected tensors (B, C, H, W) or "
                             "(images, labels, ...) tuples)")
        done = True
    finally:
        for bn, (momentum, mean, var, tracked) in zip(layers, saved, strict=True):
            bn.momentum = momentum
            if not done or int(bn.num_batches_tracked) == 0:  # failed, or no batch reached this layer
                bn.running_mean.copy_(mean)
                bn.running_var.copy_(var)
                bn.num_batches_tracked.copy_(tracked)
            elif momentum is not None:
                need = mature_updates(momentum, bn.eps)
                bn.num_batches_tracked.fill_(max(int(tracked) + int(bn.num_batches_tracked), need))
    return images
