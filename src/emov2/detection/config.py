"""Settings of ``emov2 det train``: the engine's plus the detector's. ``--arch`` picks the paper's recipe
(``recipes/det/<arch>.yaml``) as the defaults."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.config import EngineConfig, setting

__all__ = ["DET_ARCHS", "DetConfig"]

DET_ARCHS = ("ssdlite", "retinanet", "maskrcnn")


@dataclass
class DetConfig(EngineConfig):
    """Everything ``emov2 det train`` can set."""

    arch: str = setting("ssdlite", "detector: ssdlite, retinanet or maskrcnn (picks the paper's recipe)",
                        choices=DET_ARCHS)
    backbone: str = setting("emov2_5m", "EMOv2 variant of the backbone")
    backbone_checkpoint: str | None = setting(None, "classification weights for the backbone (an emov2 "
                                                    "artifact or an official .pth)")
    window_size: int = setting(10, "attention window of the backbone (the paper's 10 for detection)")
    drop_path: float = setting(0.0, "stochastic depth of the backbone")
    frozen_stages: int = setting(-1, "backbone stages to freeze (-1: none, 0: stem, k: stem + stages 1..k)")
    norm_eval: bool = setting(True, "keep the backbone's BatchNorms in eval mode while training")
    data: str | None = setting(None, "data root: the `emov2 data make-shapes` layout or COCO 2017's")
    train_ann: str | None = setting(None, "training annotation file (overrides --data)")
    train_images: str | None = setting(None, "training image folder (overrides --data)")
    val_ann: str | None = setting(None, "validation annotation file (overrides --data)")
    val_images: str | None = setting(None, "validation image folder (overrides --data)")
    size: int = setting(320, "SSDLite input size (320 or 512 in the paper)")
    min_size: int = setting(800, "RetinaNet / Mask R-CNN shorter side")
    max_size: int = setting(1333, "RetinaNet / Mask R-CNN longer side limit")
    expand_ratio: float = setting(4.0, "SSDLite zoom-out up to this factor (1: off)")
    head_init_std: float | None = setting(0.001, "SSDLite head conv init std (none: torchvision's)")
    eval_limit: int = setting(0, "evaluate on the first N validation images only (0: all)")
    output: str = setting("runs/det", "run folder: last.pt, metrics.jsonl, curves.png, best/final artifacts")
    sched: str = setting("const_cosine", "lr schedule (the paper's: warm-up, constant, then cosine)")
    workers: int = setting(2, "DataLoader worker processes per training process")
    eval_first: bool = setting(True, "also evaluate the untrained model (logged at step 0)")
