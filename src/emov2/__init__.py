"""emov2: EMOv2 vision backbones (arXiv 2412.06674), exact to the official weights and native to timm.

``import emov2`` registers ``emov2_1m`` ... ``emov2_50m`` (and the video models ``v_emov2_1m`` ...) with timm;
``emov2.create_video_model`` builds V-EMOv2 (``from_2d`` inflates 2-D weights); ``emov2.create_generator`` builds
the D-EMOv2 / DiT diffusion generators (``emov2.generation``); ``emov2.load_artifact`` reads what any training
command wrote (safetensors + JSON sidecar, or ``last.pt``), weights-only.
"""

from .artifacts import load_artifact
from .generation import create_generator, list_generators
from .layers import AttentionMode, MetaMobileBlock, WindowAttention, configure_layers, exportable_layers
from .models import (
    VARIANTS,
    CheckpointError,
    EMOv2,
    EMOv2Features,
    count_macs,
    count_params,
    create_model,
    create_video_model,
    from_2d,
    from_official,
    get_model_info,
    list_models,
    reparameterize,
    save_pretrained,
    to_official,
)

__version__ = "0.1.0"

__all__ = [
    "VARIANTS",
    "AttentionMode",
    "CheckpointError",
    "EMOv2",
    "EMOv2Features",
    "MetaMobileBlock",
    "WindowAttention",
    "configure_layers",
    "count_macs",
    "count_params",
    "create_generator",
    "create_model",
    "create_video_model",
    "exportable_layers",
    "from_2d",
    "from_official",
    "get_model_info",
    "list_generators",
    "list_models",
    "load_artifact",
    "reparameterize",
    "save_pretrained",
    "to_official",
]
