"""RetinaNet on EMOv2 (paper §3.2): torchvision's ``RetinaNet`` on an FPN over strides 8/16/32 plus P6/P7.

P6 is a stride-2 3x3 conv on the stride-32 *input* map (mmdet ``add_extra_convs='on_input'``; torchvision's
``LastLevelP6P7`` does this whenever the input width differs from 256), P7 a stride-2 conv on ReLU(P6).
Anchors: 3 scales x 3 ratios per level, base sizes 32..512 (mmdet ``octave_base_scale=4``, 3 per octave).
"""

from __future__ import annotations

from torchvision.models.detection import RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops.feature_pyramid_network import LastLevelP6P7

from .backbone import EMOv2Features, EMOv2FPN

__all__ = ["build_retinanet", "retinanet_anchor_generator"]


def retinanet_anchor_generator() -> AnchorGenerator:
    """Nine anchors per location on five levels (sizes ``x * 2**(k/3)``, ratios 0.5/1/2)."""
    sizes = tuple((x, int(x * 2 ** (1 / 3)), int(x * 2 ** (2 / 3))) for x in (32, 64, 128, 256, 512))
    return AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))


def build_retinanet(features: EMOv2Features, num_classes: int, fpn_channels: int = 256, **kwargs) -> RetinaNet:
    """torchvision RetinaNet; ``features`` must give the stride 8/16/32 maps; ``kwargs`` go to ``RetinaNet``
    (for example ``min_size``/``max_size``; the default 800/1333 is the paper's 1x schedule input)."""
    backbone = EMOv2FPN(features, fpn_channels, LastLevelP6P7(features.channels[-1], fpn_channels))
    defaults = dict(image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    return RetinaNet(backbone, num_classes, anchor_generator=retinanet_anchor_generator(), **{**defaults, **kwargs})
