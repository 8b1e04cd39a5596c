"""emov2: EMOv2 vision backbones (arXiv 2412.06674), exact to the official weights and native to timm.

``import emov2`` registers ``emov2_1m`` ... ``emov2_50m`` with timm.
"""

from .layers import AttentionMode, MetaMobileBlock, WindowAttention
from .models import (
    VARIANTS,
    CheckpointError,
    EMOv2,
    count_macs,
    count_params,
    create_model,
    from_official,
    list_models,
    reparameterize,
    to_official,
)

__version__ = "0.1.0"

__all__ = [
    "VARIANTS",
    "AttentionMode",
    "CheckpointError",
    "EMOv2",
    "MetaMobileBlock",
    "WindowAttention",
    "count_macs",
    "count_params",
    "create_model",
    "from_official",
    "list_models",
    "reparameterize",
    "to_official",
]
