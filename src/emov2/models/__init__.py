"""EMOv2 models: the architecture, the variant table, timm registration and weight handling."""

from .complexity import count_macs, count_params
from .emov2 import EMOv2, checkpoint_filter_fn, reparameterize
from .factory import create_model, guess_variant, list_models
from .features import EMOv2Features
from .hub import save_pretrained
from .info import get_model_info
from .official import from_official, to_official
from .stages import EMOv2Stage, Stem
from .variants import TEST_VARIANTS, VARIANTS, Variant
from .weights import CheckpointError, load_state_dict, save_safetensors

__all__ = [
    "TEST_VARIANTS",
    "VARIANTS",
    "CheckpointError",
    "EMOv2",
    "EMOv2Features",
    "EMOv2Stage",
    "Stem",
    "Variant",
    "checkpoint_filter_fn",
    "count_macs",
    "count_params",
    "create_model",
    "from_official",
    "get_model_info",
    "guess_variant",
    "list_models",
    "load_state_dict",
    "save_pretrained",
    "save_safetensors",
    "reparameterize",
    "to_official",
]
