"""EMOv2 feature backbones for dense prediction, built only through timm's ``features_only``.

:class:`EMOv2Features` wraps ``timm.create_model(name, features_only=True)`` and adds the two options of the
paper's mmdet/mmseg configs: ``frozen_stages`` (stem and stages 1..k take no gradient and stay in eval mode)
and ``norm_eval`` (every BatchNorm keeps its running statistics in training). :class:`EMOv2FPN` puts
torchvision's ``FeaturePyramidNetwork`` on top and follows torchvision's backbone contract
(``OrderedDict[str, Tensor]`` output and an ``out_channels`` int).
"""

from __future__ import annotations

import os
from collections import OrderedDict

import timm
import torch
from torch import nn
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import ExtraFPNBlock

__all__ = ["EMOv2FPN", "EMOv2Features", "load_backbone_weights"]


def load_backbone_weights(body: nn.Module, path: str | os.PathLike) -> None:
    """Load a classification checkpoint (ours or official) into a ``features_only`` model.

    The classifier ``norm.*``/``head.*`` keys are dropped and ``stages.{i}.`` becomes timm's ``stages_{i}.``;
    every parameter of ``body`` must be found (a wrong variant is a clear error).
    """
    from ..models.weights import CheckpointError, load_state_dict

    sd = load_state_dict(path)
    mapped = {}
    for k, v in sd.items():
        if k.startswith(("norm.", "head.")):
            continue
        if k.startswith("stages."):
            i, rest = k[len("stages."):].split(".", 1)
            k = f"stages_{i}.{rest}"
        mapped[k] = v
    own = body.state_dict()
    missing = [k for k in own if k not in mapped]
    wrong = [k for k in own if k in mapped and mapped[k].shape != own[k].shape]
    if missing or wrong:
        raise CheckpointError(
            f"{path} does not fit this backbone: {len(missing)} missing keys {missing[:3]}, "
            f"{len(wrong)} shape mismatches {wrong[:3]}"
        )
    body.load_state_dict({k: mapped[k] for k in own}, strict=True)


class EMOv2Features(nn.Module):
    """EMOv2 stages as a list of feature maps.

    Args:
        name: backbone variant (``emov2_1m`` ... ``emov2_20m``).
        out_indices: timm feature indices: 0 = stem (stride 2), 1..4 = stages (strides 4/8/16/32).
        window_size: attention window of stages 3-4 (the paper uses 10 for detection and segmentation).
        frozen_stages: -1 freezes nothing, 0 the stem, k the stem and stages 1..k (mmdet convention).
        norm_eval: keep BatchNorm layers in eval mode while training.
        checkpoint: classification weights to start from (see :func:`load_backbone_weights`).
        drop_path_rate: stochastic depth of the backbone blocks.

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
    ) -> None:
        super().__init__()
        from .. import models  # noqa: F401  (registers the variants with timm)

        if not -1 <= frozen_stages <= 4:
            raise ValueError(f"frozen_stages must be in -1..4, got {frozen_stages}")
        self.body = timm.create_model(
            name, features_only=True, out_indices=tuple(out_indices), window_size=window_size,
            drop_path_rate=drop_path_rate,
        )
        if checkpoint is not None:
            load_backbone_weights(self.body, checkpoint)
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


class EMOv2FPN(nn.Module):
    """EMOv2 features + torchvision FPN: the backbone of RetinaNet and Mask R-CNN.

    Args:
        features: an :class:`EMOv2Features`; all of its maps feed the FPN.
        out_channels: FPN width (256 in the paper).
        extra_blocks: torchvision's ``LastLevelP6P7`` (RetinaNet) or ``LastLevelMaxPool`` (Mask R-CNN).

    Shapes: ``(B, 3, H, W)`` -> ``OrderedDict`` of ``(B, out_channels, H / s, W / s)``, keys ``"0"``, ``"1"``, ...
    """

    def __init__(self, features: EMOv2Features, out_channels: int = 256, extra_blocks: ExtraFPNBlock | None = None):
        super().__init__()
        self.features = features
        self.fpn = FeaturePyramidNetwork(features.channels, out_channels, extra_blocks=extra_blocks)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        feats = self.features(x)
        return self.fpn(OrderedDict((str(i), f) for i, f in enumerate(feats)))
