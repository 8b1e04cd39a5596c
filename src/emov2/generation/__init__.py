"""Image generation: D-EMOv2 (diffusion transformers built from i2RMB blocks) and the DiT baselines."""

from .blocks import DEMOBlock, DiTBlock, FinalLayer
from .dit import DiffusionTransformer
from .registry import GENERATORS, GeneratorConfig, create_generator, list_generators

__all__ = [
    "GENERATORS",
    "DEMOBlock",
    "DiTBlock",
    "DiffusionTransformer",
    "FinalLayer",
    "GeneratorConfig",
    "create_generator",
    "list_generators",
]
