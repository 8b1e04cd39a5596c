"""The training run: data, model, timm optimiser / scheduler / EMA / loss, optional teacher, DDP, the epoch loop,
checkpoints (``last.pt`` every epoch, ``best.safetensors`` + ``best.json``), ``metrics.jsonl`` and figures.

Reproducibility: every process reseeds Python, NumPy and torch at the start of each epoch from
``(seed, rank, epoch)`` and the data order depends only on ``(seed, epoch)``, so ``--resume`` from ``last.pt``
continues exactly as an uninterrupted run with the same seed would have (CPU; GPU kernels may differ bitwise).
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from timm.loss import LabelSmoothingCrossEntropy
from timm.optim import create_optimizer_v2
from timm.scheduler import create_scheduler_v2
from timm.utils import ModelEmaV3
from torch import nn
from tqdm import tqdm

from .checkpoint import get_rng_state, load_last, save_best, save_last, set_rng_state
from .config import TrainConfig
from .data_setup import build_data
from .distributed import DistInfo, barrier, cleanup, init_distributed
from .engine import evaluate, train_one_epoch
from .model_setup import build_classifier
from .plots import plot_confusion, plot_curves

__all__ = ["run_training"]

CHECKPOINT_FORMAT = "emov2-train-1"


def _reseed(seed: int, rank: int, epoch: int) -> None:
    s = (seed * 1_000_003 + rank * 7919 + epoch) % (2**31)
    random.seed(s)
    np.random.seed(s)
    torch.manual_seed(s)


def _amp(cfg: TrainConfig, device: torch.device):
    """(autocast context factory, grad scaler or None): bf16 on GPU by default, fp32 on CPU."""
    mode = cfg.amp
    if mode == "auto":
        mode = "bf16" if device.type == "cuda" else "none"
    if mode == "none":
        return contextlib.nullcontext, None
    if mode not in ("bf16", "fp16"):
        raise ValueError(f"--amp must be auto, bf16, fp16 or none, not {cfg.amp!r}")
    dtype = torch.bfloat16 if mode == "bf16" else torch.float16
    scaler = torch.amp.GradScaler("cuda") if mode == "fp16" and device.type == "cuda" else None
    return partial(torch.autocast, device_type=device.type, dtype=dtype), scaler


def _say(d: DistInfo, msg: str) -> None:
    if d.is_main:
        tqdm.write(msg)


def _read_metrics(path: Path, before_epoch: int) -> list[dict]:
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a kill
        if r.get("epoch", 0) <= before_epoch:
            records.append(r)
    return records


def run_training(cfg: TrainConfig) -> dict:
    """Train as ``cfg`` says (under torchrun: one DDP process each); returns the run summary (on every rank)."""
    d = init_distributed()
    try:
        return _train(cfg, d)
    finally:
        cleanup()


def _train(cfg: TrainConfig, d: DistInfo) -> dict:
    t_start = time.perf_counter()
    out = Path(cfg.output)
    last_path = out / "last.pt"
    if last_path.exists() and not cfg.resume:
        raise ValueError(f"{last_path} exists: pass --resume to continue that run, or choose another --output")
    state = load_last(last_path) if cfg.resume else None
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    if d.device.type == "cpu":
        torch.set_flush_denormal(True)  # denormal AdamW moments are very slow on CPU
    _reseed(cfg.seed, d.rank, 0)

    data = build_data(cfg, d)
    num_classes = len(data.classes)
    if state is not None:
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{last_path} is not a checkpoint written by `emov2 train`")
        if list(state["classes"]) != data.classes:
            raise ValueError(f"--resume: {last_path} was trained on {len(state['classes'])} classes "
                             f"({', '.join(state['classes'][:4])}...), the data has {num_classes} "
                             f"({', '.join(data.classes[:4])}...)")
        if state["model_name"] != cfg.model:
            raise ValueError(f"--resume: {last_path} holds {state['model_name']}, not {cfg.model}")

    model = build_classifier(cfg.model, num_classes, drop_path=cfg.drop_path, window_size=cfg.window_size,
                             checkpoint=cfg.initial_checkpoint)
    model.to(d.device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    if cfg.grad_checkpointing:
        model.set_grad_checkpointing(True)
    opt_kwargs = {"fused": True} if cfg.opt == "adamw" and d.device.type == "cpu" else {}
    optimizer = create_optimizer_v2(model, opt=cfg.opt, lr=cfg.peak_lr(), weight_decay=cfg.weight_decay,
                                    betas=tuple(cfg.opt_betas), eps=cfg.opt_eps, **opt_kwargs)
    steps_per_epoch = len(data.train)
    if steps_per_epoch == 0:
        raise ValueError(f"the training set is smaller than one batch of {cfg.batch_size}: lower --batch-size")
    scheduler, _ = create_scheduler_v2(
        optimizer, sched=cfg.sched, num_epochs=cfg.epochs, warmup_epochs=cfg.warmup_epochs,
        warmup_lr=cfg.warmup_lr, min_lr=cfg.min_lr, step_on_epochs=False, updates_per_epoch=steps_per_epoch)
    ema = ModelEmaV3(model, decay=cfg.ema_decay, use_warmup=cfg.ema_warmup) if cfg.model_ema else None
    autocast, scaler = _amp(cfg, d.device)
    loss_fn = LabelSmoothingCrossEntropy(cfg.smoothing) if cfg.smoothing > 0 else nn.CrossEntropyLoss()
    teacher = None
    if cfg.teacher:
        from .distill import build_teacher

        teacher = build_teacher(cfg.teacher, num_classes, checkpoint=cfg.teacher_checkpoint,
                                img_size=cfg.teacher_img_size, student_mean=data.mean,
                                student_std=data.std).to(d.device)

    start_epoch, best = 0, {"top1": -1.0, "epoch": -1, "weights": "model"}
    best_confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if ema is not None and state.get("ema") is not None:
            ema.load_state_dict(state["ema"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        start_epoch, best = state["epoch"] + 1, dict(state["best"])
        best_confusion = state["best_confusion"]
        _say(d, f"resumed from {last_path} after epoch {start_epoch}")

    train_model = model
    if d.distributed:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[d.local_rank] if d.device.type == "cuda" else None)

    metrics_path = out / "metrics.jsonl"
    records = _read_metrics(metrics_path, start_epoch) if state is not None else []
    if d.is_main:
        out.mkdir(parents=True, exist_ok=True)
        cfg.save(out / "args.yaml")
        metrics_path.write_text("".join(json.dumps(r) + "\n" for r in records))
        n_params = sum(p.numel() for p in model.parameters())
        _say(d, f"{cfg.model} ({n_params / 1e6:.2f}M params) on {data.description}; {d.world_size} process(es) on "
                f"{d.device.type}; {cfg.epochs} epochs x {steps_per_epoch} steps of {cfg.batch_size} images; "
                f"peak lr {cfg.peak_lr():.2e}")

    info_base = dict(
        variant=cfg.model, num_classes=num_classes, classes=data.classes, img_size=cfg.img_size,
        crop_pct=cfg.crop_pct, interpolation=cfg.interpolation, mean=list(data.mean), std=list(data.std),
        grayscale=data.grayscale, window_size=cfg.window_size, data=data.description,
        resize_only=data.grayscale and cfg.data.lower().startswith("fashion"),
    )
    last_eval: dict = {}
    end_epoch = min(cfg.epochs, cfg.stop_after) if cfg.stop_after else cfg.epochs
    for epoch in range(start_epoch, end_epoch):
        _reseed(cfg.seed, d.rank, epoch + 1)
        data.set_epoch(epoch)
        stats = train_one_epoch(
            train_model, data.train, optimizer, scheduler, loss_fn, epoch=epoch, device=d.device,
            autocast=autocast, scaler=scaler, clip_grad=cfg.clip_grad, ema=ema, teacher=teacher,
            kd_weight=cfg.kd_weight, kd_tau=cfg.kd_tau, world_size=d.world_size,
            progress=cfg.progress and d.is_main, desc=f"epoch {epoch + 1}/{cfg.epochs}")
        if stats["train_images"] == 0:
            raise ValueError(f"all {stats['skipped']} training images in {cfg.data} are unreadable")
        if stats["skipped"]:
            _say(d, f"skipped {stats['skipped']} unreadable image(s) in epoch {epoch + 1}")
        record = {"epoch": epoch + 1, **stats}
        if (epoch + 1) % cfg.eval_interval == 0 or epoch + 1 == cfg.epochs:
            show = cfg.progress and d.is_main
            ev = evaluate(model, data.val, num_classes, device=d.device, autocast=autocast, progress=show)
            if ev["images"] == 0:
                raise ValueError(f"all {ev['skipped']} validation images are unreadable")
            record.update(val_loss=ev["loss"], val_top1=ev["top1"], val_top5=ev["top5"])
            candidates = [("model", ev)]
            if ema is not None:
                ev_ema = evaluate(ema.module, data.val, num_classes, device=d.device, autocast=autocast,
                                  progress=show, desc="eval EMA")
                record.update(ema_loss=ev_ema["loss"], ema_top1=ev_ema["top1"], ema_top5=ev_ema["top5"])
                candidates.append(("ema", ev_ema))
            source, top = max(candidates, key=lambda c: c[1]["top1"])
            last_eval = {"weights": source, "top1": top["top1"], "top5": top["top5"], "loss": top["loss"]}
            if top["top1"] > best["top1"]:
                best = {"top1": top["top1"], "top5": top["top5"], "loss": top["loss"], "epoch": epoch + 1,
                        "weights": source}
                best_confusion = top["confusion"]
                if d.is_main:
                    weights = (ema.module if source == "ema" else model).state_dict()
                    save_best(weights, out / "best.safetensors", {**info_base, "epoch": epoch + 1,
                                                                  "weights": source, "metrics": best})
            _say(d, f"epoch {epoch + 1}: train loss {stats['train_loss']:.4f}, val top-1 {ev['top1']:.2f}"
                    + (f" (EMA {record['ema_top1']:.2f})" if ema is not None else "")
                    + f", {stats['img_per_s']:.0f} img/s, best {best['top1']:.2f} @ {best['epoch']}")
        records.append(record)
        if d.is_main:
            with metrics_path.open("a") as f:
                f.write(json.dumps(record) + "\n")
            save_last({
                "format": CHECKPOINT_FORMAT, "model_name": cfg.model, "classes": data.classes, "epoch": epoch,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "ema": ema.state_dict() if ema is not None else None,
                "scaler": scaler.state_dict() if scaler is not None else None, "rng": get_rng_state(),
                "best": best, "best_confusion": best_confusion, "config": cfg.to_dict(),
            }, last_path)
        barrier()

    if d.is_main and records:
        plot_curves(records, out / "curves.png")
        plot_confusion(best_confusion, data.classes, out / "confusion.png",
                       title=f"{cfg.model}, epoch {best['epoch']} ({best['weights']}): top-1 {best['top1']:.2f}%")
    trained = [r for r in records if r["epoch"] > start_epoch]
    return {
        "best": best, "last": last_eval, "epochs": cfg.epochs, "output": str(out), "classes": data.classes,
        "wall_s": time.perf_counter() - t_start,
        "train_s": sum(r["epoch_time_s"] for r in trained),
        "cpu_s": sum(r.get("cpu_s", 0.0) for r in trained),
        "images": sum(r["train_images"] for r in trained),
        "img_per_s": (sum(r["train_images"] for r in trained) / max(sum(r["epoch_time_s"] for r in trained), 1e-9)),
    }
