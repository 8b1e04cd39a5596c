"""Settings as dataclasses, command-line flags generated from them, and YAML recipes shipped as package data.

Every training command has one settings dataclass (a subclass of :class:`EngineConfig`). Its fields declare
their help text with :func:`setting`; :func:`add_config_flags` turns each field into one flag (``lr`` ->
``--lr``, booleans get ``--x/--no-x``), so a flag means the same thing in every command. Values resolve as
timm's two-pass ``--config`` does: dataclass defaults <- recipe YAML (``--config NAME|PATH``) <- flags given on
the command line. Only the flags actually given override the recipe (:func:`given_settings`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

__all__ = ["EngineConfig", "RUNTIME_SETTINGS", "add_config_flags", "build_config", "find_recipe", "given_settings",
           "list_recipes", "load_recipe", "setting"]


def setting(default=None, help: str = "", *, choices: typing.Sequence | None = None, cli: bool = True,
            metavar: str | None = None):
    """A dataclass field with its flag's help text (``cli=False``: recipe/API only, no flag)."""
    meta = {"help": help, "choices": tuple(choices) if choices else None, "cli": cli, "metavar": metavar}
    if isinstance(default, list | dict):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class EngineConfig:
    """Settings the engine itself uses, shared by every training command."""

    # run
    output: str = setting("runs/run", "run folder: last.pt, metrics.jsonl, curves.png, best/final artifacts")
    resume: bool = setting(False, "continue the run in --output from its last.pt (bit-exact)")
    seed: int = setting(42, "random seed of the run (data order, augmentation, initialisation)")
    device: str = setting("auto", "auto, cpu, cuda or cuda:N (under torchrun each process takes cuda:LOCAL_RANK)")
    threads: int = setting(0, "CPU threads for torch (0: torch's default)")
    amp: str = setting("auto", "mixed precision: auto (bf16 on GPU, none on CPU), bf16, fp16 or none",
                       choices=("auto", "bf16", "fp16", "none"))
    progress: bool = setting(True, "show progress bars")
    workers: int = setting(4, "DataLoader worker processes per training process")
    # length and cadence
    batch_size: int = setting(128, "global batch size (split over torchrun processes)")
    accum_steps: int = setting(1, "micro-batches accumulated per optimizer step")
    epochs: float = setting(0, "training epochs (ignored when --iters is given)")
    iters: int = setting(0, "training iterations (optimizer steps); 0: use --epochs")
    eval_interval: int = setting(1, "evaluate every N epochs (every N iterations with --iters); 0: only at the end")
    eval_first: bool = setting(False, "also evaluate the untrained model (logged at step 0)")
    ckpt_interval: int = setting(0, "also write last.pt every N iterations (0: after every evaluation/epoch)")
    log_interval: int = setting(20, "log training losses every N iterations")
    stop_after: int = setting(0, "end this process after N iterations, the schedule still spans the run "
                                 "(continue with --resume); 0: run to the end")
    # optimiser (timm's create_optimizer_v2)
    opt: str = setting("adamw", "optimizer name understood by timm.optim.create_optimizer_v2")
    lr: float | None = setting(None, "peak learning rate")
    weight_decay: float = setting(0.05, "weight decay (none on biases, norms and layer scales)")
    opt_eps: float | None = setting(None, "optimizer epsilon (default: the optimizer's)")
    opt_betas: tuple[float, float] | None = setting(None, "Adam betas (default: the optimizer's)", metavar="B")
    momentum: float = setting(0.9, "SGD momentum")
    layer_decay: float | None = setting(None, "layer-wise lr decay (timm's param_groups_layer_decay, e.g. 0.75)")
    clip_grad: float | None = setting(None, "clip the gradient norm to this value (none: no clipping)")
    # schedule (timm's create_scheduler_v2, plus const_cosine)
    sched: str = setting("cosine", "lr schedule: cosine, step, constant, poly, ... (timm) or const_cosine "
                                   "(warm-up, constant, then cosine: the paper's det/seg schedule)")
    warmup: float = setting(0, "linear warm-up length in the run's unit (epochs, or iterations with --iters); "
                               "clamped to a fifth of the run")
    warmup_iters: int = setting(0, "warm-up length in iterations, whatever the run's unit (overrides --warmup)")
    warmup_lr: float = setting(1e-6, "learning rate at the start of the warm-up")
    min_lr: float = setting(0.0, "lowest learning rate of the schedule")
    warmup_prefix: bool = setting(False, "start the decay after the warm-up instead of counting it in")
    sched_length: float | None = setting(None, "length of the decay in the run's unit (default: the run)")
    constant_until: float = setting(0.5, "const_cosine: fraction of the run at constant lr before the cosine")
    decay_rate: float = setting(0.1, "step schedule: lr factor per decay")
    # EMA (timm's ModelEmaV3)
    model_ema: bool = setting(False, "keep an exponential moving average of the weights")
    ema_decay: float = setting(0.9998, "EMA decay")
    ema_warmup: bool = setting(False, "EMA decay warm-up (timm ModelEmaV3 use_warmup)")
    # BatchNorm statistics
    precise_bn: str = setting("auto", "re-estimate BatchNorm statistics on training batches before evaluating: "
                                      "auto (when they are still immature), on, off", choices=("auto", "on", "off"))
    precise_bn_batches: int = setting(8, "training batches used to re-estimate BatchNorm statistics")

    def peak_lr(self) -> float:
        if self.lr is None:
            raise ValueError("no learning rate: give --lr or a --config recipe that sets lr")
        return self.lr

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


# Settings that may differ between a run and its --resume without changing what it computes.
RUNTIME_SETTINGS = frozenset({"resume", "progress", "threads", "workers", "stop_after", "device", "log_interval"})


def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp):
    """(inner type, optional?) of ``X | None``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _none_or(convert):
    def parse(text: str):
        return None if text.lower() in ("none", "null") else convert(text)

    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def add_config_flags(parser: argparse.ArgumentParser, cls, *, exclude: typing.Iterable[str] = (),
                     title: str | None = None) -> None:
    """One flag per CLI field of ``cls`` (defaults suppressed, so the namespace holds only the flags given)."""
    target = parser.add_argument_group(title) if title else parser
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in exclude or not f.metadata.get("cli", True):
            continue
        tp, optional = _unwrap_optional(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        help_ = f.metadata.get("help", "")
        if default not in (None, "", (), []) and not isinstance(default, bool):
            help_ += f" (default: {default})"
        kw: dict = dict(dest=f.name, default=argparse.SUPPRESS, help=help_)
        if f.metadata.get("metavar"):
            kw["metavar"] = f.metadata["metavar"]
        if tp is bool:
            target.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
            continue
        origin = typing.get_origin(tp)
        if origin in (tuple, list):
            args = typing.get_args(tp)
            inner = args[0]
            kw["nargs"] = len(args) if origin is tuple and Ellipsis not in args else "+"
            kw["type"] = inner
        elif tp in (int, float, str):
            kw["type"] = _none_or(tp) if optional else tp
        else:
            continue  # dicts and other structures come from recipes only
        if f.metadata.get("choices"):
            kw["choices"] = f.metadata["choices"]
        target.add_argument(flag, **kw)


def given_settings(args: argparse.Namespace, cls) -> dict:
    """The fields of ``cls`` that were given on the command line."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names}


def _coerce(cls, name: str, value, source: str):
    tp, optional = _unwrap_optional(_hints(cls)[name])
    if value is None:
        return None
    origin = typing.get_origin(tp)
    try:
        if tp is bool:
            return value if isinstance(value, bool) else _bool(str(value))
        if tp is float:
            return float(value)
        if tp is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if tp is str:
            return str(value)
        if origin is tuple:
            return tuple(value)
        if origin is list:
            return list(value)
    except (TypeError, ValueError, argparse.ArgumentTypeError):
        raise ValueError(f"{source}: {name} = {value!r} is not a valid {tp.__name__ if hasattr(tp, '__name__') else tp}"
                         ) from None
    return value


def build_config(cls, *layers: dict, sources: typing.Sequence[str] | None = None):
    """``cls(**defaults <- layer 1 <- layer 2 ...)``; an unknown key is an error naming its source."""
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict = {}
    for i, layer in enumerate(layers):
        source = sources[i] if sources else f"settings layer {i}"
        unknown = sorted(set(layer) - names)
        if unknown:
            raise ValueError(f"{source}: unknown setting(s) {', '.join(unknown)}")
        for k, v in layer.items():
            values[k] = _coerce(cls, k, v, source)
    return cls(**values)


def _recipe_root():
    return resources.files("emov2") / "recipes"


def list_recipes(task: str) -> list[str]:
    """Names of the recipes shipped for ``task`` (``cls``, ``det``, ``seg``, ``gen``, ``video``)."""
    folder = _recipe_root() / task
    if not folder.is_dir():
        return []
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def find_recipe(name: str | os.PathLike, task: str):
    """A recipe by path, or by name among the package's ``recipes/<task>/*.yaml``."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return p
    stem = p.name[:-5] if p.name.endswith(".yaml") else p.name
    candidate = _recipe_root() / task / f"{stem}.yaml"
    if candidate.is_file():
        return candidate
    known = ", ".join(list_recipes(task)) or "none"
    raise FileNotFoundError(f"recipe not found: {name} (not a file; {task} recipes: {known})")


def load_recipe(name: str | os.PathLike, task: str) -> dict:
    """The settings of a YAML recipe (a flat mapping of setting: value)."""
    p = find_recipe(name, task)
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{p}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{p}: a recipe is a mapping of setting: value")
    return data
