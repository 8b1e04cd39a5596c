"""Classification training: the paper's ImageNet recipe on timm's optimiser, scheduler, EMA, loss and transforms;
DDP under torchrun; resumable checkpoints."""

from .config import TrainConfig, load_recipe, resolve_config
from .trainer import run_training

__all__ = ["TrainConfig", "load_recipe", "resolve_config", "run_training"]
