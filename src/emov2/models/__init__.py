"""EMOv2 models: the architecture, the variant table, timm registration and weight handling."""

from .complexity import count_macs, count_params
from .emov2 import EMOv2, EMOv2Stage, Stem, reparameterize
from .factory import create_model, guess_variant, list_models
from .official import from_official, to_official
from .variants import VARIANTS, Variant
from .weights import CheckpointError, load_state_dict, save_safetensors

__all__ = [
    "VARIANTS",
    "CheckpointError",
    "EMOv2",
    "EMOv2Stage",
    "Stem",
    "Variant",
    "count_macs",
    "count_params",
    "create_model",
    "from_official",
    "guess_variant",
    "list_models",
    "load_state_dict",
    "save_safetensors",
    "reparameterize",
    "to_official",
]
