"""The one training engine: every task (classification, detection, segmentation, generation, video) plugs in
through a small :class:`Task` adapter; the engine owns the loop, AMP, EMA, DDP, logging, checkpoints and
artifacts."""

from .artifact import ARTIFACT_FORMAT, read_artifact, read_info, write_artifact
from .config import EngineConfig, add_config_flags, build_config, given_settings, load_recipe, setting
from .data import EpochLoader, EpochSampler, SeededDataset
from .distributed import DistInfo, all_reduce_sum, init_distributed
from .metrics import MetricsLog, plot_curves, read_metrics
from .task import Task, TaskData
from .trainer import amp_context, fit

__all__ = [
    "ARTIFACT_FORMAT", "DistInfo", "EngineConfig", "EpochLoader", "EpochSampler", "MetricsLog", "SeededDataset",
    "Task", "TaskData", "add_config_flags", "all_reduce_sum", "amp_context", "build_config", "fit",
    "given_settings", "init_distributed", "load_recipe", "plot_curves", "read_artifact", "read_info",
    "read_metrics", "setting", "write_artifact",
]
