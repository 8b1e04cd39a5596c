"""Classification on the engine: the adapter that ``emov2 train`` runs."""

from __future__ import annotations

import json

import torch
from timm.loss import LabelSmoothingCrossEntropy
from torch import nn

from ..engine.task import Task, TaskData
from .config import ClsConfig
from .data import build_cls_data
from .distill import build_teacher, kd_loss
from .evaluate import evaluate_classifier, unpack_batch
from .inference import load_classifier
from .model import build_classifier
from .plots import plot_confusion

__all__ = ["ClassificationTask"]


class ClassificationTask(Task):
    """Image classification: cross-entropy with label smoothing (+ KD), top-1 selects the kept weights."""

    name = "cls"
    primary_metric = "top1"
    higher_is_better = True

    def __init__(self, cfg: ClsConfig) -> None:
        super().__init__(cfg)
        self.cfg: ClsConfig = cfg
        self.skipped = 0
        self.teacher = None
        self.test_result: dict | None = None

    def build_data(self, dist) -> TaskData:
        self.data = build_cls_data(self.cfg, dist)
        return TaskData(self.data.train, self.data.description)

    def build_model(self) -> nn.Module:
        cfg, data = self.cfg, self.data
        model = build_classifier(cfg.model, len(data.classes), drop_path=cfg.drop_path,
                                 window_size=cfg.window_size, checkpoint=cfg.initial_checkpoint,
                                 model_kwargs=cfg.model_kwargs)
        if cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if cfg.grad_checkpointing:
            model.set_grad_checkpointing(True)
        self.loss_fn = LabelSmoothingCrossEntropy(cfg.smoothing) if cfg.smoothing > 0 else nn.CrossEntropyLoss()
        if cfg.teacher:
            self.teacher = build_teacher(cfg.teacher, len(data.classes), checkpoint=cfg.teacher_checkpoint,
                                         img_size=cfg.teacher_img_size, student_mean=data.mean,
                                         student_std=data.std).to(self.dist.device)
        return model

    def loss(self, model: nn.Module, batch):
        x, y, bad = unpack_batch(batch)
        self.skipped += bad
        if x is None:
            return None
        x, y = x.to(self.dist.device, non_blocking=True), y.to(self.dist.device, non_blocking=True)
        logits = model(x)
        ce = self.loss_fn(logits, y)
        if self.teacher is None:
            return {"loss": ce}
        kd = kd_loss(logits, self.teacher(x), self.cfg.kd_tau)
        return {"loss": ce + self.cfg.kd_weight * kd, "ce": ce.detach(), "kd": kd.detach()}

    def epoch_summary(self) -> dict:
        n, self.skipped = self.skipped, 0
        return {"skipped": n}

    def evaluate(self, model: nn.Module) -> dict:
        result = evaluate_classifier(model, self.data.val, len(self.data.classes), device=self.dist.device)
        if result["images"] == 0:
            raise ValueError(f"all {result['skipped']} validation images are unreadable")
        return result

    def describe(self) -> str:
        return f"{self.cfg.model} on {self.data.description}"

    def artifact_info(self) -> dict:
        cfg, data = self.cfg, self.data
        kwargs = {**cfg.model_kwargs, "num_classes": len(data.classes)}
        if cfg.window_size is not None:  # EMOv2 variants and the plug-in models
            kwargs["window_size"] = cfg.window_size
        return {
            "arch": cfg.model, "variant": cfg.model, "model_kwargs": kwargs, "num_classes": len(data.classes),
            "classes": data.classes, "img_size": cfg.img_size, "crop_pct": cfg.crop_pct,
            "interpolation": cfg.interpolation, "mean": list(data.mean), "std": list(data.std),
            "grayscale": data.grayscale, "resize_only": data.resize_only, "window_size": cfg.window_size,
            "data": data.description, "val_split": data.splits.get("val", ""),
        }

    def on_new_best(self, result: dict, out_dir) -> None:
        plot_confusion(result["confusion"], self.data.classes, out_dir / "confusion.png",
                       title=f"{self.cfg.model}, validation top-1 {result['top1']:.2f}%")

    def finish(self, out_dir, summary: dict) -> None:
        """Rank 0 measures the kept weights once on the test split, when the data has one (``test.json``)."""
        if not self.dist.is_main or self.data.test is None or not (out_dir / "best.safetensors").is_file():
            return
        model, _ = load_classifier(out_dir / "best.safetensors")
        model.to(self.dist.device)
        result = evaluate_classifier(model, self.data.test(), len(self.data.classes), device=self.dist.device,
                                     reduce=False)
        self.test_result = {k: v for k, v in result.items() if k != "confusion"}
        self.test_result["split"] = self.data.splits.get("test", "test")
        (out_dir / "test.json").write_text(json.dumps(self.test_result, indent=1) + "\n")
        summary["test"] = self.test_result
