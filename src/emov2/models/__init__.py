"""EMOv2 models: the architecture (2-D, and 3-D V-EMOv2), the variant tables, timm registration and weight
handling."""

from .complexity import count_macs, count_params
from .emov2 import EMOv2, checkpoint_filter_fn, reparameterize
from .factory import create_model, guess_variant, list_models
from .features import EMOv2Features
from .frame_average import FrameAveraged
from .hub import save_pretrained
from .info import get_model_info
from .official import from_official, to_official
from .stages import EMOv2Stage, Stem
from .variants import TEST_VARIANTS, VARIANTS, VIDEO_VARIANTS, Variant, VideoVariant
from .video import create_video_model, from_2d, list_video_models
from .weights import CheckpointError, load_state_dict, save_safetensors

__all__ = [
    "TEST_VARIANTS",
    "VARIANTS",
    "VIDEO_VARIANTS",
    "CheckpointError",
    "EMOv2",
    "EMOv2Features",
    "EMOv2Stage",
    "FrameAveraged",
    "Stem",
    "Variant",
    "VideoVariant",
    "checkpoint_filter_fn",
    "count_macs",
    "count_params",
    "create_model",
    "create_video_model",
    "from_2d",
    "from_official",
    "get_model_info",
    "guess_variant",
    "list_models",
    "list_video_models",
    "load_state_dict",
    "save_pretrained",
    "save_safetensors",
    "reparameterize",
    "to_official",
]
