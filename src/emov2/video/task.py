"""Video classification on the engine: the adapter that ``emov2 video train`` runs."""

from __future__ import annotations

from torch import nn

from ..data.video.collate import SkippedVideos
from ..engine.task import Task, TaskData
from ..models.video import FRAME_AVG_PREFIX, create_video_model
from .config import VideoConfig
from .data import build_video_data
from .evaluate import evaluate_video

__all__ = ["VideoTask", "video_param_groups"]

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)


def video_param_groups(model: nn.Module, weight_decay: float, decay_layer_scale: bool = True) -> list[dict]:
    """AdamW groups as the official video run: no decay on norm parameters and biases (mmaction2's
    ``norm_decay_mult=0, bias_decay_mult=0``); every other parameter decayed, layer scales included unless
    ``decay_layer_scale`` is off."""
    decay, no_decay = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            if isinstance(module, _NORMS) or name == "bias" or (name == "gamma" and not decay_layer_scale):
                no_decay.append(p)
            else:
                decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class VideoTask(Task):
    """Video classification: cross-entropy (optional label smoothing); video-level top-1 selects the weights."""

    name = "video"
    primary_metric = "top1"
    higher_is_better = True

    def __init__(self, cfg: VideoConfig) -> None:
        super().__init__(cfg)
        self.cfg: VideoConfig = cfg
        self.skipped = SkippedVideos()  # names each unreadable video once per run
        self.skipped_epoch = 0

    def build_data(self, dist) -> TaskData:
        self.data = build_video_data(self.cfg, dist)
        return TaskData(self.data.train, self.data.description)

    def _model_kwargs(self) -> dict:
        cfg = self.cfg
        kwargs = {"drop_rate": cfg.drop_rate, "drop_path_rate": cfg.drop_path}
        if cfg.window_size is not None:
            if cfg.model.startswith(FRAME_AVG_PREFIX):
                raise ValueError("--window-size (T, H, W) is for V-EMOv2; the frame-averaged baseline keeps its "
                                 "2-D window")
            kwargs["window_size"] = tuple(cfg.window_size)
        return {k: v for k, v in kwargs.items() if v is not None}

    def build_model(self) -> nn.Module:
        cfg = self.cfg
        model = create_video_model(cfg.model, num_classes=len(self.data.classes), num_frames=cfg.num_frames,
                                   img_size=cfg.img_size, checkpoint=cfg.initial_checkpoint, drop_head=True,
                                   **self._model_kwargs())
        if cfg.grad_checkpointing:
            model.set_grad_checkpointing(True)
        if cfg.smoothing > 0:
            from timm.loss import LabelSmoothingCrossEntropy

            self.loss_fn = LabelSmoothingCrossEntropy(cfg.smoothing)
        else:
            self.loss_fn = nn.CrossEntropyLoss()
        return model

    def param_groups(self, model: nn.Module) -> list[dict]:
        return video_param_groups(model, self.cfg.weight_decay, self.cfg.decay_layer_scale)

    def loss(self, model: nn.Module, batch):
        x, y, bad = batch
        self.skipped_epoch += self.skipped(bad)
        if x is None:
            return None
        x, y = x.to(self.dist.device, non_blocking=True), y.to(self.dist.device, non_blocking=True)
        return {"loss": self.loss_fn(model(x), y)}

    def epoch_summary(self) -> dict:
        n, self.skipped_epoch = self.skipped_epoch, 0
        return {"skipped": n}

    def evaluate(self, model: nn.Module) -> dict:
        result = evaluate_video(model, self.data.val, len(self.data.classes), device=self.dist.device,
                                skipped=self.skipped)
        if result["videos"] == 0:
            raise ValueError(f"all {result['skipped']} validation videos are unreadable")
        return result

    def describe(self) -> str:
        return f"{self.cfg.model} on {self.data.description}"

    def artifact_info(self) -> dict:
        cfg, data = self.cfg, self.data
        kwargs = {"num_classes": len(data.classes)}
        if cfg.window_size is not None:
            kwargs["window_size"] = list(cfg.window_size)
        return {
            "arch": cfg.model, "model_kwargs": kwargs, "num_classes": len(data.classes), "classes": data.classes,
            "num_frames": cfg.num_frames, "img_size": cfg.img_size, "val_short_side": cfg.val_short_side or
            cfg.img_size, "mean": list(cfg.mean), "std": list(cfg.std), "data": data.description,
            "val_split": data.val_split,
        }

    def on_new_best(self, result: dict, out_dir) -> None:
        from ..classification.plots import plot_confusion

        plot_confusion(result["confusion"], self.data.classes, out_dir / "confusion.png",
                       title=f"{self.cfg.model}, validation top-1 {result['top1']:.2f}% (video level)")

    def state_dict(self) -> dict:
        return {"skipped_epoch": self.skipped_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.skipped_epoch = int(state.get("skipped_epoch", 0))
