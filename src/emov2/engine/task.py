"""What a task gives the engine: a small adapter. Nothing task-specific lives in the engine itself."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .config import EngineConfig
from .distributed import DistInfo

__all__ = ["Task", "TaskData"]


@dataclass
class TaskData:
    """The training loader (``set_epoch``; ``set_start`` to resume mid-epoch) and a one-line description."""

    train: object
    description: str = ""
    extra: dict = field(default_factory=dict)


class Task:
    """Subclass and implement :meth:`build_data`, :meth:`build_model`, :meth:`loss`, :meth:`evaluate` and
    :meth:`artifact_info`; the engine calls them in that order and owns everything else.

    Class attributes:
        name: the task's short name in artifacts and ``last.pt`` (``cls``, ``det``, ``seg``, ``gen``, ``video``).
        primary_metric: the :meth:`evaluate` key that selects the kept weights.
        higher_is_better: direction of ``primary_metric``.
        eval_ema_only: with EMA, evaluate only the EMA weights (generators); else both, keeping the better.
        find_unused_parameters: DDP setting (detectors whose heads skip parameters on some batches).
        precise_bn: BatchNorm statistics may be re-estimated by ``model(batch[0])`` in train-mode BatchNorms
            (False for models that do not take a tensor batch, such as torchvision detectors).
    """

    name = "task"
    primary_metric = "loss"
    higher_is_better = False
    eval_ema_only = False
    find_unused_parameters = False
    precise_bn = True

    def __init__(self, cfg: EngineConfig) -> None:
        self.cfg = cfg
        self.dist = DistInfo()
        self.notes: list[str] = []  # lines the engine prints (rank 0) under the run's plan
        self.step = 0  # the optimizer step of the evaluation under way (set by the engine)

    def build_data(self, dist: DistInfo) -> TaskData:
        raise NotImplementedError

    def build_model(self) -> nn.Module:
        raise NotImplementedError

    def param_groups(self, model: nn.Module) -> list[dict] | None:
        """Optimizer parameter groups, or ``None`` for timm's defaults (no decay on biases/norms, layer decay)."""
        return None

    def loss(self, model: nn.Module, batch) -> dict[str, torch.Tensor] | None:
        """Training losses of one batch: ``{"loss": scalar, other parts...}``; ``None`` skips the batch."""
        raise NotImplementedError

    def batch_size_of(self, batch) -> int:
        first = batch[0] if isinstance(batch, list | tuple) else batch
        return len(first) if first is not None else 0

    def evaluate(self, model: nn.Module) -> dict:
        """Metrics of ``model`` (called on every rank; numbers go to metrics.jsonl, the rest to ``on_new_best``)."""
        return {}

    def artifact_info(self) -> dict:
        """What the JSON sidecar needs to rebuild the model (task, arch, model kwargs, classes, sizes, ...)."""
        return {}

    def describe(self) -> str:
        return ""

    def on_new_best(self, result: dict, out_dir) -> None:
        """Rank 0, after an evaluation that improved the primary metric (e.g. draw a confusion matrix)."""

    def finish(self, out_dir, summary: dict) -> None:
        """Every rank, after training and after the final artifact is written (e.g. rank 0 measures the kept
        weights on a test split, or draws prediction figures); may add entries to ``summary``."""

    def epoch_summary(self) -> dict:
        """Numbers to log once per epoch (e.g. unreadable samples skipped); summed over ranks by the engine."""
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
