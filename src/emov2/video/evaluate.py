"""Clip- and video-level top-1 / top-5 over a loader of clips (DDP-aware: sums over processes).

A batch holds one view per video (B, C, T, H, W) or several (B, V, C, T, H, W): clips and/or crops (ThreeCrop).
*Clip level* scores every view on its own; *video level* averages the softmax over a video's views (mmaction2's
``average_clips='prob'``) and scores the average. With one view per video the two coincide.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..engine.distributed import all_reduce_sum

__all__ = ["evaluate_video", "video_probs"]


def video_probs(model: nn.Module, x: torch.Tensor, autocast=contextlib.nullcontext) -> tuple[torch.Tensor,
                                                                                            torch.Tensor]:
    """(logits of every view (B, V, K), video-level probabilities (B, K)) of clips (B, [V,] C, T, H, W)."""
    views = x if x.ndim == 6 else x[:, None]
    b, v = views.shape[:2]
    with autocast():
        logits = model(views.flatten(0, 1))
    logits = logits.float().view(b, v, -1)
    return logits, logits.softmax(-1).mean(1)


@torch.no_grad()
def evaluate_video(model: nn.Module, loader, num_classes: int, *, device: torch.device | None = None,
                   autocast=contextlib.nullcontext, skipped=None, progress: bool = False, desc: str = "eval",
                   reduce: bool = True) -> dict:
    """{top1, top5 (video level, %), clip_top1, clip_top5 (%), loss (clip-level cross-entropy), videos, clips,
    skipped, confusion (K, K) int64 (video level; rows: true class)}.

    ``skipped``: a :class:`~emov2.data.video.collate.SkippedVideos` that names unreadable videos once (else they
    are only counted). With ``reduce`` the counts are summed over the processes (every rank must call it).
    """
    device = device or next(model.parameters()).device
    model.eval()
    # clip loss sum, clip top1, clip top5, clips, video top1, video top5, videos, skipped
    stats = torch.zeros(8, dtype=torch.float64)
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    k = min(5, num_classes)
    for x, y, bad in tqdm(loader, desc=desc, disable=not progress, leave=False, dynamic_ncols=True,
                          mininterval=1.0):
        stats[7] += skipped(bad) if skipped is not None else len(bad)
        if x is None:
            continue
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        logits, probs = video_probs(model, x, autocast)
        b, v = logits.shape[:2]
        y_clip = y.repeat_interleave(v)
        flat = logits.flatten(0, 1)
        top = flat.topk(k, dim=-1).indices
        stats[0] += F.cross_entropy(flat, y_clip, reduction="sum").item()
        stats[1] += (top[:, 0] == y_clip).sum().item()
        stats[2] += (top == y_clip[:, None]).any(dim=-1).sum().item()
        stats[3] += b * v
        vtop = probs.topk(k, dim=-1).indices
        stats[4] += (vtop[:, 0] == y).sum().item()
        stats[5] += (vtop == y[:, None]).any(dim=-1).sum().item()
        stats[6] += b
        confusion += torch.bincount(y.cpu() * num_classes + vtop[:, 0].cpu(),
                                    minlength=num_classes * num_classes).view(num_classes, num_classes)
    if reduce:
        all_reduce_sum(stats)
        all_reduce_sum(confusion)
    clips, videos = max(stats[3].item(), 1), max(stats[6].item(), 1)
    return {"top1": 100 * stats[4].item() / videos, "top5": 100 * stats[5].item() / videos,
            "clip_top1": 100 * stats[1].item() / clips, "clip_top5": 100 * stats[2].item() / clips,
            "loss": stats[0].item() / clips, "videos": int(stats[6].item()), "clips": int(stats[3].item()),
            "skipped": int(stats[7].item()), "confusion": confusion}
