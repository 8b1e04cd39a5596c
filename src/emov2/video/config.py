"""Settings of ``emov2 video train``: the engine's plus the video ones. The defaults are the official V-EMOv2-5M
Kinetics-400 recipe (its training log; ``--config k400`` spells them out)."""

from __future__ import annotations

from dataclasses import dataclass

from ..data.video.transforms import VIDEO_MEAN, VIDEO_STD
from ..engine.config import EngineConfig, setting

__all__ = ["VideoConfig"]


@dataclass
class VideoConfig(EngineConfig):
    """Everything ``emov2 video train`` can set (docs/cli.md lists the flags)."""

    model: str = setting("v_emov2_5m", "video model: v_emov2_1m, v_emov2_2m, v_emov2_5m, v_emov2_20m, or "
                                       "frame_avg_<2-D variant> (the frame-averaged 2-D baseline, e.g. "
                                       "frame_avg_emov2_1m)")
    data: str = setting("", "Kinetics-style folder with train/<class>/* and val/<class>/* videos, or an mmaction2 "
                            "list file of the training videos ('PATH LABEL' per line)")
    val_data: str = setting("", "list file of the validation videos (with a list-file --data; default: its "
                                "name with 'train' replaced by 'val')")
    data_root: str = setting("", "folder the list files' paths are relative to (default: each list file's folder)")
    class_names: str = setting("", "list files: a file with one class name per line, line i naming label i "
                                   "(default: classes.txt beside the list file if there is one, else '0', '1', ...)")
    backend: str = setting("auto", "video decoder: auto (TorchCodec if usable, else PyAV), torchcodec or pyav",
                           choices=("auto", "torchcodec", "pyav"))
    output: str = setting("runs/video", "run folder: last.pt, metrics.jsonl, curves.png, best/final artifacts")
    # clips and augmentation (the log's pipeline)
    num_frames: int = setting(4, "frames per clip (UniformSample clip_len: one random frame per segment in "
                                 "training, the segment middles in evaluation)")
    img_size: int = setting(160, "clip side in pixels")
    short_side: int = setting(192, "training: resize the short side to this, then RandomResizedCrop to --img-size")
    val_short_side: int | None = setting(None, "evaluation: resize the short side to this, then centre crop "
                                               "(default: --img-size)")
    randaug_layers: int = setting(4, "RandAugment layers (each one op with probability 0.5; 0: off)")
    randaug_magnitude: int = setting(7, "RandAugment magnitude (0-10)")
    scale: tuple[float, float] = setting((0.08, 1.0), "RandomResizedCrop area range", metavar="S")
    ratio: tuple[float, float] = setting((3 / 4, 4 / 3), "RandomResizedCrop aspect range", metavar="R")
    hflip: float = setting(0.5, "horizontal flip probability (0 for classes that a flip swaps, e.g. left/right)")
    mean: tuple[float, float, float] = setting(VIDEO_MEAN, "per-channel mean on the 0-255 scale", metavar="M")
    std: tuple[float, float, float] = setting(VIDEO_STD, "per-channel std on the 0-255 scale", metavar="S")
    # model
    drop_rate: float | None = setting(None, "dropout before the classifier (default: the variant's, 0.5)")
    drop_path: float | None = setting(None, "stochastic depth rate (default: the variant's)")
    window_size: tuple[int, int, int] | None = setting(None, "V-EMOv2 attention window over (T, H, W) (default "
                                                             "2 5 5)", metavar="W")
    initial_checkpoint: str | None = setting(None, "start from these weights: 2-D EMOv2 (an emov2 train artifact, "
                                                   ".safetensors or official .pth: inflated to 3-D) or a 3-D "
                                                   "video checkpoint; a new classifier when the classes differ")
    grad_checkpointing: bool = setting(False, "gradient checkpointing (less memory, more compute)")
    # the log's recipe
    epochs: float = setting(200, "training epochs")
    batch_size: int = setting(256, "global batch size (split over torchrun processes)")
    lr: float | None = setting(1e-4, "peak learning rate")
    weight_decay: float = setting(0.05, "weight decay (none on norms and biases; see --decay-layer-scale)")
    decay_layer_scale: bool = setting(True, "weight-decay the layer scales (as the official video run did)")
    opt_betas: tuple[float, float] | None = setting((0.9, 0.999), "Adam betas", metavar="B")
    clip_grad: float | None = setting(20.0, "clip the gradient norm to this value (none: no clipping)")
    warmup: float = setting(30, "linear warm-up epochs (from --warmup-lr; clamped to a fifth of the run)")
    warmup_lr: float = setting(1e-5, "learning rate at the start of the warm-up (0.1x the peak)")
    warmup_prefix: bool = setting(True, "start the cosine after the warm-up")
    sched_length: float | None = setting(190, "length of the cosine in epochs (the log's T_max 190: truncated by "
                                              "the 200-epoch run)")
    min_lr: float = setting(1e-5, "lowest learning rate of the cosine (0.1x the peak)")
    smoothing: float = setting(0.0, "label smoothing")
    workers: int = setting(8, "DataLoader worker processes per training process")
