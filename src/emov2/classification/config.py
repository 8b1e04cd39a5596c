"""Settings of ``emov2 train``: the engine's plus the classification ones. The defaults are the paper's
ImageNet-1K recipe (``--config imagenet_224`` spells them out)."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.config import EngineConfig, setting

__all__ = ["ClsConfig"]


@dataclass
class ClsConfig(EngineConfig):
    """Everything ``emov2 train`` can set (docs/cli.md lists the flags)."""

    model: str = setting("emov2_1m", "EMOv2 variant (emov2_1m ... emov2_50m), or any timm model name")
    data: str = setting("", "folder with train/<class>/* and val/<class>/* (and optionally test/), or "
                            "'fashion-mnist' (the embedded set)")
    img_size: int = setting(224, "input size in pixels")
    output: str = setting("runs/train", "run folder: last.pt, metrics.jsonl, curves.png, best/final artifacts")
    # the paper's ImageNet recipe (§3.1)
    epochs: float = setting(300, "training epochs")
    batch_size: int = setting(1024, "global batch size (split over torchrun processes)")
    lr_base: float = setting(1.5e-3, "peak lr per lr_base_size images when --lr is not given (linear scaling)")
    lr_base_size: int = setting(512, "batch size that lr_base is for")
    opt_betas: tuple[float, float] | None = setting((0.9, 0.999), "Adam betas", metavar="B")
    opt_eps: float | None = setting(1e-8, "optimizer epsilon")
    workers: int = setting(8, "DataLoader worker processes per training process")
    clip_grad: float | None = setting(5.0, "clip the gradient norm to this value (none: no clipping)")
    warmup: float = setting(20, "linear warm-up epochs (clamped to a fifth of the run)")
    warmup_lr: float = setting(5e-7, "learning rate at the start of the warm-up")
    min_lr: float = setting(5e-7, "lowest learning rate of the cosine")
    model_ema: bool = setting(True, "keep an exponential moving average of the weights")
    smoothing: float = setting(0.1, "label smoothing")
    drop_path: float | None = setting(None, "stochastic depth rate (default: the variant's)")
    aa: str = setting("rand-m9-mstd0.5-inc1", "timm RandAugment / AutoAugment string ('none': off)")
    train_interpolation: str = setting("random", "resize interpolation of the training crops")
    hflip: float = setting(0.5, "horizontal flip probability")
    scale: tuple[float, float] = setting((0.08, 1.0), "RandomResizedCrop area range", metavar="S")
    ratio: tuple[float, float] = setting((3 / 4, 4 / 3), "RandomResizedCrop aspect range", metavar="R")
    crop_pct: float = setting(0.875, "eval: resize to img_size / crop_pct, then centre crop")
    interpolation: str = setting("bicubic", "eval resize interpolation")
    pad: int = setting(4, "embedded tensor data: random crop from the image zero-padded by this many pixels")
    val_holdout: int = setting(5000, "embedded data: training images held out for validation (model selection "
                                     "never sees the test set)")
    max_train_samples: int = setting(0, "train on a fixed random subset of this size (0: all)")
    # model
    window_size: int | None = setting(None, "attention window of EMOv2 (default 7)")
    model_kwargs: dict = setting({}, "more keyword arguments of the model (a recipe key only): e.g. img_size and "
                                     "patch_size of a timm ViT at 32 px", cli=False)
    channels_last: bool = setting(False, "channels-last memory layout")
    grad_checkpointing: bool = setting(False, "gradient checkpointing (less memory, more compute)")
    initial_checkpoint: str | None = setting(None, "fine-tune from these weights (ours or official; a new head "
                                                   "when the classes differ)")
    # knowledge distillation (paper §3.1, *_kd)
    teacher: str | None = setting(None, "KD teacher: a timm model name or an artifact written by emov2 train")
    teacher_checkpoint: str | None = setting(None, "weights for a timm-name teacher (nothing is downloaded)")
    teacher_img_size: int | None = setting(None, "teacher input size (default: the student's)")
    kd_weight: float = setting(5.0, "weight of the KD loss")
    kd_tau: float = setting(1.0, "KD temperature")

    def peak_lr(self) -> float:
        return self.lr if self.lr is not None else self.lr_base * self.batch_size / self.lr_base_size
