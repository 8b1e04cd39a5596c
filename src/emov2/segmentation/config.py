"""Settings of ``emov2 seg train``: the engine's plus the segmenter's. ``--arch`` picks the paper's recipe
(``recipes/seg/<arch>.yaml``) as the defaults."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.config import EngineConfig, setting

__all__ = ["SEG_ARCHS", "SegConfig"]

SEG_ARCHS = ("deeplabv3", "pspnet", "fpn", "segformer", "unet")


@dataclass
class SegConfig(EngineConfig):
    """Everything ``emov2 seg train`` can set."""

    arch: str = setting("deeplabv3", "segmenter (picks the paper's recipe)", choices=SEG_ARCHS)
    backbone: str = setting("emov2_5m", "EMOv2 variant of the backbone; for --arch unet: i2rmb (U-EMOv2) or conv "
                                        "(UNet-S5-D16)")
    backbone_checkpoint: str | None = setting(None, "classification weights for the backbone (an emov2 "
                                                    "artifact or an official .pth)")
    window_size: int | None = setting(None, "attention window (default: 10 for the ADE20K models, 8 for U-EMOv2)")
    drop_path: float = setting(0.0, "stochastic depth of the backbone")
    frozen_stages: int = setting(-1, "backbone stages to freeze (-1: none, 0: stem, k: stem + stages 1..k)")
    norm_eval: bool = setting(False, "keep the backbone's BatchNorms in eval mode while training")
    data: str = setting("", "ADE20K- or HRF-layout root: images/<split>/*, annotations/<split>/*.png")
    data_layout: str = setting("ade", "ade (class-index PNGs) or hrf (vessel masks 0/1, fov/ masks)",
                               choices=("ade", "hrf"))
    repeat: int = setting(1, "repeat the training images this many times per epoch (mmseg RepeatDataset)")
    num_classes: int = setting(11, "classes (ADE20K: 150 with --reduce-zero-label; make-shapes: 11)")
    reduce_zero_label: bool = setting(False, "label 0 -> ignored, l -> l-1 (ADE20K)")
    train_split: str = setting("training", "training split folder name")
    val_split: str = setting("validation", "validation split folder name")
    crop: int = setting(512, "training crop size")
    scale: tuple[int, int] = setting((2048, 512), "base resize scale (long, short); random ratio 0.5-2",
                                     metavar="S")
    head_lr_mult: float = setting(1.0, "learning-rate multiplier of the decode and auxiliary heads")
    aux: bool = setting(True, "add the auxiliary FCN head (deeplabv3, pspnet, unet)")
    aux_weight: float = setting(0.4, "weight of the auxiliary FCN head's loss")
    wd_exclude: str = setting("timm", "parameters without weight decay: timm (biases, norms, 1-D) or layernorm "
                                      "(LayerNorm only, as the official UNet config)", choices=("timm", "layernorm"))
    slide_crop: int = setting(0, "evaluate with sliding windows of this size (0: the whole image at once)")
    slide_stride: int = setting(170, "stride of the sliding windows")
    select_metric: str = setting("mIoU", "validation metric that selects the kept weights: mIoU or mDice",
                                 choices=("mIoU", "mDice"))
    eval_limit: int = setting(0, "evaluate on the first N validation images only (0: all)")
    output: str = setting("runs/seg", "run folder: last.pt, metrics.jsonl, curves.png, best/final artifacts")
    sched: str = setting("const_cosine", "lr schedule (the paper's: warm-up, constant, then cosine)")
    workers: int = setting(2, "DataLoader worker processes per training process")
    eval_first: bool = setting(True, "also evaluate the untrained model (logged at step 0)")
