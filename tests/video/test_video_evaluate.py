"""Clip- and video-level accuracy on hand-made logits: video level averages the softmax of a video's views."""

from __future__ import annotations

import torch
from torch import nn

from emov2.data.video.collate import SkippedVideos
from emov2.data.video.datasets import BadVideo
from emov2.video.evaluate import evaluate_video


class FirstVoxel(nn.Module):
    """Logits = the channels of the first voxel: (N, K, T, H, W) -> (N, K)."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, 0, 0, 0]


def clips(*views: list[float]) -> torch.Tensor:
    """One video whose views have the given logits: (1, V, K, 1, 1, 1)."""
    return torch.tensor(views).view(1, len(views), -1, 1, 1, 1)


def test_video_level_averages_probabilities_not_logits() -> None:
    # video 0 (label 0): view a says 0, view b says 1; the mean softmax says 0 (0.46 vs 0.28), the mean logit 1
    v0 = clips([3.0, 0.0, 0.0], [0.0, 3.5, 3.4])
    # video 1 (label 2): both views say 2
    v1 = clips([0.0, 0.0, 2.0], [0.0, 1.0, 2.0])
    bad = BadVideo("x.mp4", "x.mp4: broken")
    batches = [(v0, torch.tensor([0]), []), (None, None, [bad]), (v1, torch.tensor([2]), [])]
    skipped = SkippedVideos()
    m = evaluate_video(FirstVoxel(), batches, 3, skipped=skipped)
    assert (m["videos"], m["clips"], m["skipped"], skipped.total) == (2, 4, 1, 1)
    assert m["top1"] == 100.0 and m["clip_top1"] == 75.0 and m["top5"] == m["clip_top5"] == 100.0
    expected = torch.nn.functional.cross_entropy(torch.tensor([[3.0, 0, 0], [0, 3.5, 3.4], [0, 0, 2], [0, 1, 2]]),
                                                 torch.tensor([0, 0, 2, 2]))
    assert abs(m["loss"] - expected.item()) < 1e-6
    assert m["confusion"].tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 1]]
    single = evaluate_video(FirstVoxel(), [(v0[:, 1], torch.tensor([0]), [])], 3)  # (B, C, T, H, W): one view
    assert single["top1"] == single["clip_top1"] == 0.0 and single["clips"] == 1
