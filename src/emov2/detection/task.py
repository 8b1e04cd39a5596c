"""Detection on the engine: the adapter that ``emov2 det train`` runs (torchvision detectors, COCO data and
pycocotools evaluation)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..engine.data import EpochLoader
from ..engine.task import Task, TaskData
from .config import DetConfig
from .data import CocoDetection, collate
from .evaluate import coco_metrics, predict_dataset
from .factory import create_detector
from .transforms import detection_transforms

__all__ = ["DetectionTask", "data_paths", "detection_loss", "detector_from_info", "evaluate_detector",
           "model_kwargs"]


def detection_loss(model: nn.Module, batch, device: torch.device | None = None) -> dict[str, torch.Tensor]:
    """Sum of the torchvision loss dict (``"loss"``) plus its parts, for one batch of ``(images, targets)``."""
    images, targets = batch
    if device is not None:
        images = [im.to(device) for im in images]
    targets = [{k: (v.to(device) if device is not None and torch.is_tensor(v) else v) for k, v in t.items()
                if k != "image_id"} for t in targets]
    parts = model(list(images), targets)
    return {"loss": sum(parts.values()), **{k: v.detach() for k, v in parts.items()}}


def evaluate_detector(model: nn.Module, dataset: CocoDetection, batch_size: int = 8, masks: bool = False,
                      limit: int | None = None) -> dict[str, float]:
    """Box (and mask) COCO metrics over the first ``limit`` images (all by default)."""
    results = predict_dataset(model, dataset, batch_size, limit)
    ids = [r[0] for r in dataset.records][: limit or len(dataset)]
    return coco_metrics(dataset, results, ("bbox", "segm") if masks else ("bbox",), ids)


def data_paths(cfg, split: str) -> tuple[Path, Path]:
    """(annotation file, image folder) of ``split`` (train/val): explicit paths, else under ``cfg.data`` in the
    make-shapes layout (``instances_{training,validation}.json`` + ``images/...``) or COCO 2017's."""
    ann, imgs = getattr(cfg, f"{split}_ann", None), getattr(cfg, f"{split}_images", None)
    if (ann is None or imgs is None) and not cfg.data:
        raise ValueError(f"give --data or both --{split}-ann and --{split}-images")
    if cfg.data:
        root = Path(cfg.data)
        coco = {"train": "train2017", "val": "val2017"}[split]
        shapes = {"train": "training", "val": "validation"}[split]
        if (root / "annotations" / f"instances_{coco}.json").is_file():
            ann = ann or root / "annotations" / f"instances_{coco}.json"
            imgs = imgs or root / coco
        else:
            ann = ann or root / f"instances_{shapes}.json"
            imgs = imgs or root / "images" / shapes
    return Path(ann), Path(imgs)


def model_kwargs(cfg: DetConfig) -> dict:
    if cfg.arch == "ssdlite":
        return {"size": cfg.size, "head_init_std": cfg.head_init_std}
    return {"min_size": cfg.min_size, "max_size": cfg.max_size}


def detector_from_info(info: dict) -> nn.Module:
    """An untrained detector with the architecture a detection artifact's sidecar describes."""
    return create_detector(info["arch"], info["backbone"], info["num_classes"], window_size=info["window_size"],
                           **info["model_kwargs"])


def load_dataset(cfg, split: str, arch: str, train: bool) -> CocoDetection:
    ann, imgs = data_paths(cfg, split)
    aug = {"expand_ratio": cfg.expand_ratio} if train and hasattr(cfg, "expand_ratio") else {}
    ds = CocoDetection(imgs, ann, detection_transforms(arch, train, **aug), with_masks=arch == "maskrcnn",
                       skip_empty=train)
    if len(ds) == 0:
        raise ValueError(f"{ann}: no usable images")
    return ds


class DetectionTask(Task):
    """COCO-format detection; the kept weights are those with the best box AP."""

    name = "det"
    primary_metric = "AP"
    higher_is_better = True
    find_unused_parameters = True
    precise_bn = False  # detectors take lists of images; the paper's recipes freeze their BatchNorms anyway

    def __init__(self, cfg: DetConfig) -> None:
        super().__init__(cfg)
        self.cfg: DetConfig = cfg

    def build_data(self, dist) -> TaskData:
        cfg = self.cfg
        self.train_ds = load_dataset(cfg, "train", cfg.arch, True)
        self.val_ds = load_dataset(cfg, "val", cfg.arch, False)
        if self.val_ds.label_to_cat != self.train_ds.label_to_cat:
            raise ValueError("training and validation files list different categories")
        for split, ds in (("train", self.train_ds), ("val", self.val_ds)):
            if ds.skipped:
                self.notes.append(f"{split}: skipped annotations: "
                                  + ", ".join(f"{k} {v}" for k, v in sorted(ds.skipped.items())))
        per_proc = cfg.batch_size // dist.world_size
        if per_proc < 1 or cfg.batch_size % dist.world_size:
            raise ValueError(f"--batch-size {cfg.batch_size} is not divisible by the {dist.world_size} processes")
        per_proc = min(per_proc, len(self.train_ds))
        loader = EpochLoader(self.train_ds, per_proc, dist, seed=cfg.seed, train=True,
                             workers=min(cfg.workers, os.cpu_count() or 1), collate_fn=collate,
                             pin_memory=dist.device.type == "cuda")
        return TaskData(loader, f"{len(self.train_ds)} train / {len(self.val_ds)} val images, "
                                f"{self.train_ds.num_classes} classes")

    def build_model(self) -> nn.Module:
        cfg = self.cfg
        return create_detector(cfg.arch, cfg.backbone, self.train_ds.num_classes,
                               backbone_checkpoint=cfg.backbone_checkpoint, window_size=cfg.window_size,
                               frozen_stages=cfg.frozen_stages, norm_eval=cfg.norm_eval,
                               drop_path_rate=cfg.drop_path, **model_kwargs(cfg))

    def loss(self, model: nn.Module, batch):
        return detection_loss(model, batch, self.dist.device)

    def evaluate(self, model: nn.Module) -> dict:
        if not self.dist.is_main:
            return {}
        return evaluate_detector(model, self.val_ds, 8, self.cfg.arch == "maskrcnn", self.cfg.eval_limit or None)

    def describe(self) -> str:
        return f"{self.cfg.arch} on {self.cfg.backbone}"

    def artifact_info(self) -> dict:
        cfg, ds = self.cfg, self.train_ds
        return {"arch": cfg.arch, "backbone": cfg.backbone, "num_classes": ds.num_classes,
                "window_size": cfg.window_size, "model_kwargs": model_kwargs(cfg), "class_names": ds.class_names,
                "label_to_cat": {str(k): v for k, v in ds.label_to_cat.items()}}
