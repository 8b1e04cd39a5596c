"""Semantic segmentation on the engine: the adapter that ``emov2 seg train`` runs."""

from __future__ import annotations

import os

from timm.optim import param_groups_weight_decay
from torch import nn

from ..engine.data import EpochLoader
from ..engine.task import Task, TaskData
from .config import SegConfig
from .data import RepeatedDataset, SegmentationFolder
from .engine import VESSEL_CLASSES, evaluate_segmenter, segmentation_loss
from .hrf import VesselFolder
from .model import create_segmenter
from .transforms import SegEval, SegTrain

__all__ = ["SegmentationTask", "segmenter_from_info"]

HEADS = ("decode_head", "aux_head")


def segmenter_from_info(info: dict) -> nn.Module:
    """An untrained segmenter with the architecture a segmentation artifact's sidecar describes."""
    return create_segmenter(info["arch"], info["backbone"], info["num_classes"], window_size=info["window_size"],
                            aux=info.get("aux", True))


def layernorm_only_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on everything but LayerNorm parameters (mmseg ``custom_keys: {norm: decay_mult 0}`` on the
    official UNet, whose BatchNorms, biases and layer scales are decayed)."""
    ln = {id(p) for m in model.modules() if isinstance(m, nn.LayerNorm) or type(m).__name__.startswith("LayerNorm")
          for p in m.parameters(recurse=False)}
    params = [p for p in model.parameters() if p.requires_grad]
    return [{"params": [p for p in params if id(p) not in ln], "weight_decay": weight_decay},
            {"params": [p for p in params if id(p) in ln], "weight_decay": 0.0}]


class SegmentationTask(Task):
    """Semantic segmentation (cross-entropy, + auxiliary head); the kept weights have the best mIoU."""

    name = "seg"
    higher_is_better = True

    def __init__(self, cfg: SegConfig) -> None:
        super().__init__(cfg)
        self.cfg: SegConfig = cfg
        self.primary_metric = cfg.select_metric

    def _folder(self, split: str, transforms):
        cfg = self.cfg
        if cfg.data_layout == "hrf":
            if cfg.num_classes != len(VESSEL_CLASSES):
                raise ValueError(f"--data-layout hrf has 2 classes (background, vessel), not --num-classes "
                                 f"{cfg.num_classes}")
            return VesselFolder(cfg.data, split, transforms)
        return SegmentationFolder(cfg.data, split, cfg.num_classes, cfg.reduce_zero_label, transforms)

    def build_data(self, dist) -> TaskData:
        cfg = self.cfg
        train = self._folder(cfg.train_split, SegTrain(cfg.crop, tuple(cfg.scale)))
        self.val_ds = self._folder(cfg.val_split, SegEval(tuple(cfg.scale)))
        if len(train) == 0:
            raise ValueError(f"{cfg.data}: no image/label pairs in split {cfg.train_split!r}")
        self.train_ds = RepeatedDataset(train, cfg.repeat)
        for split, ds in ((cfg.train_split, self.train_ds), (cfg.val_split, self.val_ds)):
            if len(ds) == 0:
                raise ValueError(f"{cfg.data}: no image/label pairs in split {split!r}")
            if ds.skipped:
                self.notes.append(f"{split}: skipped " + ", ".join(f"{k} {v}" for k, v in ds.skipped.items()))
        if cfg.batch_size % dist.world_size:
            raise ValueError(f"--batch-size {cfg.batch_size} is not divisible by the {dist.world_size} processes")
        per_proc = min(cfg.batch_size // dist.world_size, len(self.train_ds))
        loader = EpochLoader(self.train_ds, per_proc, dist, seed=cfg.seed, train=True,
                             workers=min(cfg.workers, os.cpu_count() or 1), pin_memory=dist.device.type == "cuda")
        repeat = f" (x{cfg.repeat})" if cfg.repeat > 1 else ""
        return TaskData(loader, f"{len(train)}{repeat} train / {len(self.val_ds)} val images, "
                                f"{cfg.num_classes} classes")

    def build_model(self) -> nn.Module:
        cfg = self.cfg
        model = create_segmenter(cfg.arch, cfg.backbone, cfg.num_classes, backbone_checkpoint=cfg.backbone_checkpoint,
                                 window_size=cfg.window_size, frozen_stages=cfg.frozen_stages,
                                 norm_eval=cfg.norm_eval, drop_path_rate=cfg.drop_path, aux=cfg.aux)
        self.window_size = model.emov2_config["window_size"]
        return model

    def param_groups(self, model: nn.Module) -> list[dict] | None:
        """timm's weight-decay groups (or LayerNorm-only exclusion), with ``lr_scale = head_lr_mult`` on the heads
        (timm's schedulers apply it)."""
        if self.cfg.wd_exclude == "layernorm":
            if self.cfg.head_lr_mult != 1.0:
                raise ValueError("--wd-exclude layernorm with --head-lr-mult is not supported")
            return layernorm_only_groups(model, self.cfg.weight_decay)
        if self.cfg.head_lr_mult == 1.0:
            return None
        body = nn.ModuleDict({n: m for n, m in model.named_children() if n not in HEADS})
        heads = nn.ModuleDict({n: m for n, m in model.named_children() if n in HEADS and m is not None})
        groups = param_groups_weight_decay(body, self.cfg.weight_decay)
        for g in param_groups_weight_decay(heads, self.cfg.weight_decay):
            groups.append({**g, "lr_scale": self.cfg.head_lr_mult})
        return groups

    def loss(self, model: nn.Module, batch):
        images, labels = (t.to(self.dist.device, non_blocking=True) for t in batch)
        return segmentation_loss(model, (images, labels), self.cfg.aux_weight)

    def evaluate(self, model: nn.Module) -> dict:
        if not self.dist.is_main:
            return {}
        cfg = self.cfg
        slide = (cfg.slide_crop, cfg.slide_stride) if cfg.slide_crop else None
        hrf = cfg.data_layout == "hrf"
        return evaluate_segmenter(model, self.val_ds, cfg.eval_limit or None, slide=slide,
                                  metrics=("mDice", "mIoU") if hrf or cfg.select_metric == "mDice" else ("mIoU",),
                                  class_names=VESSEL_CLASSES if hrf else None)

    def describe(self) -> str:
        return f"{self.cfg.arch} on {self.cfg.backbone}"

    def artifact_info(self) -> dict:
        cfg = self.cfg
        return {"arch": cfg.arch, "backbone": cfg.backbone, "num_classes": cfg.num_classes,
                "window_size": self.window_size, "aux": cfg.aux, "reduce_zero_label": cfg.reduce_zero_label,
                "scale": list(cfg.scale), "data_layout": cfg.data_layout,
                "slide": [cfg.slide_crop, cfg.slide_stride] if cfg.slide_crop else None}
