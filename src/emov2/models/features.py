"""EMOv2 feature backbones for dense prediction (detection, segmentation), as timm ``features_only`` models.

:class:`EMOv2Features` is ``timm.create_model(name, features_only=True)`` (a timm ``FeatureListNet``) plus the two
options of the paper's mmdet/mmseg configs: ``frozen_stages`` (stem and stages 1..k take no gradient and stay in
eval mode) and ``norm_eval`` (every BatchNorm keeps its running statistics in training). Weights load into the
classification model first, through the package's one loader (official keys mapped by :mod:`.official`, a
strict match, errors naming the keys), and the feature wrapper is built on top.
"""

from __future__ import annotations

import os

import torch
from timm.models import FeatureListNet
from torch import nn

from .factory import create_model, guess_variant
from .weights import load_state_dict, load_weights

__all__ = ["EMOv2Features"]


class EMOv2Features(nn.Module):
    """EMOv2 stages as a list of feature maps.

    Args:
        name: backbone variant (``emov2_1m`` ... ``emov2_20m``, ``test_emov2``).
        out_indices: timm feature indices: 0 = stem (stride 2), 1..4 = stages (strides 4/8/16/32).
        window_size: attention window of stages 3-4 (the paper uses 10 for detection and segmentation).
        frozen_stages: -1 freezes nothing, 0 the stem, k the stem and stages 1..k (mmdet convention).
        norm_eval: keep BatchNorm layers in eval mode while training.
        checkpoint: classification weights to start from (ours or official; the classifier and its norm are
            not needed and ignored); every backbone parameter must be in it.
        drop_path_rate: stochastic depth of the backbone blocks.
        **model_kwargs: further EMOv2 options (``output_stride``, ``attn_impl``, ...).

    Shapes: ``(B, 3, H, W)`` -> list of ``(B, C_i, H / s_i, W / s_i)`` (sizes rounded up), one per index.
    """

    def __init__(
        self,
        name: str,
        out_indices: tuple[int, ...] = (1, 2, 3, 4),
        window_size: int = 10,
        frozen_stages: int = -1,
        norm_eval: bool = False,
        checkpoint: str | os.PathLike | None = None,
        drop_path_rate: float = 0.0,
        **model_kwargs,
    ) -> None:
        super().__init__()
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f"frozen_stages must be in -1..4, got {frozen_stages}")
        model = create_model(name, num_classes=0, window_size=window_size, drop_path_rate=drop_path_rate,
                             **model_kwargs)
        if checkpoint is not None:
            model.norm = nn.Identity()  # the classifier's final norm and head are not part of the backbone
            sd = {k: v for k, v in load_state_dict(checkpoint).items() if not k.startswith(("norm.", "head."))}
            load_weights(model, sd, name=name, source=str(checkpoint), guess_variant=guess_variant)
        self.body = FeatureListNet(model, out_indices=tuple(out_indices), flatten_sequential=True)
        self.body.pretrained_cfg = model.pretrained_cfg
        self.channels: list[int] = list(self.body.feature_info.channels())
        self.strides: list[int] = list(self.body.feature_info.reduction())
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self._freeze()

    def _frozen_modules(self) -> list[nn.Module]:
        if self.frozen_stages < 0:
            return []
        names = ["stem"] + [f"stages_{i}" for i in range(self.frozen_stages)]
        return [getattr(self.body, n) for n in names if hasattr(self.body, n)]

    def _freeze(self) -> None:
        for m in self._frozen_modules():
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True) -> EMOv2Features:
        super().train(mode)
        self._freeze()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.body(x)
