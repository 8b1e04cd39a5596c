"""Training settings: defaults = the paper's ImageNet recipe; a YAML recipe overrides them and command-line
flags override the recipe. The resolved settings are written to ``OUT/args.yaml``."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = ["TrainConfig", "load_recipe", "resolve_config"]


@dataclass
class TrainConfig:
    """Every setting of a training run (see docs/classification.md)."""

    model: str = "emov2_1m"
    data: str = ""  # ImageNet-layout folder or 'fashion-mnist'
    output: str = "runs/train"
    epochs: int = 300
    batch_size: int = 1024  # global: split over the DDP processes
    img_size: int = 224
    # optimiser (AdamW, no weight decay on 1-D params, biases, layer scale)
    opt: str = "adamw"
    lr: float | None = None  # absolute peak lr; None -> lr_base * batch_size / lr_base_size
    lr_base: float = 1.5e-3
    lr_base_size: int = 512
    opt_betas: tuple[float, float] = (0.9, 0.999)
    opt_eps: float = 1e-8
    weight_decay: float = 0.05
    clip_grad: float | None = 5.0
    # schedule: per-iteration warm-up then cosine (warm-up counted inside the cosine length, as timm does)
    sched: str = "cosine"
    warmup_epochs: float = 20
    warmup_lr: float = 5e-7
    min_lr: float = 5e-7
    # regularisation
    smoothing: float = 0.1
    drop_path: float | None = None  # None -> the variant's own rate
    model_ema: bool = True
    ema_decay: float = 0.9998
    ema_warmup: bool = False
    # augmentation (image folders)
    aa: str | None = "rand-m9-mstd0.5-inc1"
    train_interpolation: str = "random"
    hflip: float = 0.5
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    crop_pct: float = 0.875
    interpolation: str = "bicubic"
    # augmentation (tensor datasets: Fashion-MNIST)
    pad: int = 4
    # model
    window_size: int | None = None
    channels_last: bool = False
    grad_checkpointing: bool = False
    initial_checkpoint: str | None = None  # fine-tune: start from these weights (new head if classes differ)
    # knowledge distillation
    teacher: str | None = None  # timm model name or a checkpoint (.safetensors written by emov2 train)
    teacher_checkpoint: str | None = None
    teacher_img_size: int | None = None
    kd_weight: float = 5.0
    kd_tau: float = 1.0
    # run
    threads: int = 0  # CPU threads for torch (0: torch's default)
    amp: str = "auto"  # auto: bf16 on GPU, fp32 on CPU; or 'bf16', 'fp16', 'none'
    seed: int = 42
    workers: int = 8
    eval_interval: int = 1
    max_train_samples: int | None = None  # train on a fixed random subset (quick runs)
    resume: bool = False
    stop_after: int | None = None  # end this process after that many epochs (schedule still spans `epochs`)
    log_interval: int = 50
    progress: bool = True
    extra: dict = field(default_factory=dict)

    def peak_lr(self) -> float:
        return self.lr if self.lr is not None else self.lr_base * self.batch_size / self.lr_base_size

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def _find_recipe(path: str | os.PathLike) -> Path:
    """A recipe file by path, or by name (``imagenet_224``) in the repository's ``recipes/`` folder."""
    p = Path(path)
    if p.is_file():
        return p
    name = p.name if p.suffix in (".yaml", ".yml") else p.name + ".yaml"
    repo_root = Path(__file__).resolve().parents[3]
    for folder in (Path.cwd() / "recipes", repo_root / "recipes"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"recipe not found: {path}")


def load_recipe(path: str | os.PathLike) -> dict:
    """The settings of a YAML recipe; unknown keys are an error naming them."""
    p = _find_recipe(path)
    data = yaml.safe_load(p.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{p}: a recipe is a mapping of setting: value")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ValueError(f"{p}: unknown settings {', '.join(unknown)}")
    return data


def resolve_config(recipe: str | os.PathLike | None = None, **overrides) -> TrainConfig:
    """Defaults <- recipe file <- overrides (``None`` values mean 'not given')."""
    values = load_recipe(recipe) if recipe else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown settings {', '.join(unknown)}")
    for k in ("opt_betas", "scale", "ratio"):
        if k in values and values[k] is not None:
            values[k] = tuple(values[k])
    return TrainConfig(**values)
