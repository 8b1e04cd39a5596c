"""Semantic segmentation on the engine: the adapter that ``emov2 seg train`` runs."""

from __future__ import annotations

import os

from timm.optim import param_groups_weight_decay
from torch import nn

from ..engine.data import EpochLoader
from ..engine.task import Task, TaskData
from .config import SegConfig
from .data import SegmentationFolder
from .engine import evaluate_segmenter, segmentation_loss
from .model import create_segmenter
from .transforms import SegEval, SegTrain

__all__ = ["SegmentationTask", "segmenter_from_info"]

HEADS = ("decode_head", "aux_head")


def segmenter_from_info(info: dict) -> nn.Module:
    """An untrained segmenter with the architecture a segmentation artifact's sidecar describes."""
    return create_segmenter(info["arch"], info["backbone"], info["num_classes"], window_size=info["window_size"])


class SegmentationTask(Task):
    """Semantic segmentation (cross-entropy, + auxiliary head); the kept weights have the best mIoU."""

    name = "seg"
    primary_metric = "mIoU"
    higher_is_better = True

    def __init__(self, cfg: SegConfig) -> None:
        super().__init__(cfg)
        self.cfg: SegConfig = cfg

    def build_data(self, dist) -> TaskData:
        cfg = self.cfg
        self.train_ds = SegmentationFolder(cfg.data, cfg.train_split, cfg.num_classes, cfg.reduce_zero_label,
                                           SegTrain(cfg.crop, tuple(cfg.scale)))
        self.val_ds = SegmentationFolder(cfg.data, cfg.val_split, cfg.num_classes, cfg.reduce_zero_label,
                                         SegEval(tuple(cfg.scale)))
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
        return TaskData(loader, f"{len(self.train_ds)} train / {len(self.val_ds)} val images, "
                                f"{cfg.num_classes} classes")

    def build_model(self) -> nn.Module:
        cfg = self.cfg
        return create_segmenter(cfg.arch, cfg.backbone, cfg.num_classes, backbone_checkpoint=cfg.backbone_checkpoint,
                                window_size=cfg.window_size, frozen_stages=cfg.frozen_stages,
                                norm_eval=cfg.norm_eval, drop_path_rate=cfg.drop_path)

    def param_groups(self, model: nn.Module) -> list[dict] | None:
        """timm's weight-decay groups, with ``lr_scale = head_lr_mult`` on the heads (timm's schedulers apply it)."""
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
        return evaluate_segmenter(model, self.val_ds, self.cfg.eval_limit or None)

    def describe(self) -> str:
        return f"{self.cfg.arch} on {self.cfg.backbone}"

    def artifact_info(self) -> dict:
        cfg = self.cfg
        return {"arch": cfg.arch, "backbone": cfg.backbone, "num_classes": cfg.num_classes,
                "window_size": cfg.window_size, "reduce_zero_label": cfg.reduce_zero_label,
                "scale": list(cfg.scale)}
