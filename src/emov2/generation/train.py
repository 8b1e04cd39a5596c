"""Training loop for the class-conditional generators (DiT recipe: AdamW, constant lr, EMA, no weight decay).

Handles EMA with warm-up, mixed precision, resume, sample grids, JSON-lines logs and DDP under torchrun
(``WORLD_SIZE > 1``: NCCL on GPUs, gloo on CPU; ``batch_size`` is the global batch).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler
from tqdm.auto import tqdm

from .data import LatentCodec, load_dataset
from .diffusion import GaussianDiffusion, training_losses
from .registry import create_generator
from .sampling import diffusion_from_config, generate, read_checkpoint, save_grid

__all__ = ["TrainConfig", "train", "update_ema"]

_log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything ``emov2 gen train`` can set; stored in every checkpoint."""

    model: str
    data: str
    output: str
    image_size: int = 32
    channels: int | None = None  # pixel channels; None: 1 for Fashion-MNIST, 3 otherwise
    vae: str | None = None  # local AutoencoderKL folder: train in its latent space
    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 0.0
    grad_clip: float = 0.0
    ema_decay: float = 0.9999
    amp: str = "none"  # none | bf16 | fp16
    class_dropout: float = 0.1
    learn_sigma: bool = True
    # diffusion objective (GaussianDiffusion): chain length, noise schedule, prediction target, Min-SNR-γ weight
    num_timesteps: int = 1000
    schedule: str = "linear"  # linear (DiT) | cosine
    prediction: str = "eps"  # eps (DiT) | v | x0
    snr_gamma: float = 0.0  # 0: unweighted MSE (DiT)
    warmup_steps: int = 0  # linear learning-rate warm-up from 0 over this many steps (DiT: 0, constant lr)
    limit: int | None = None  # use only the first N training images
    sample_every: int = 0
    sample_sampler: str = "ddim"
    sample_steps: int = 50
    sample_cfg: float = 4.0
    ckpt_every: int = 0
    log_every: int = 25
    resume: str | None = None  # a checkpoint path, or "auto" for OUTPUT/checkpoints/last.pt
    seed: int = 0
    workers: int = 0
    device: str = "auto"
    progress: bool = True
    model_kwargs: dict = field(default_factory=dict)


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, parameter by parameter (buffers copied)."""
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p.detach().to(e.dtype), 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers(), strict=True):
        e.copy_(b)


def _setup_distributed(device: str) -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if world > 1:
        dist.init_process_group("nccl" if device == "cuda" else "gloo")
        rank = dist.get_rank()
        if device == "cuda":
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            return rank, world, torch.device("cuda", local)
        return rank, world, torch.device("cpu")
    return 0, 1, torch.device(device)


def _infinite(loader: DataLoader, sampler: DistributedSampler | None):
    epoch = 0
    while True:
        if sampler is not None:
            sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


def train(cfg: TrainConfig) -> dict:
    """Train ``cfg.model``; writes OUTPUT/checkpoints/{last,step_N}.pt, OUTPUT/samples/*.png, OUTPUT/log.jsonl.

    Returns a summary: final step, last logged losses, output paths.
    """
    rank, world, device = _setup_distributed(cfg.device)
    if cfg.batch_size % world:
        raise ValueError(f"batch size {cfg.batch_size} is not divisible by the {world} processes")
    if cfg.amp not in ("none", "bf16", "fp16"):
        raise ValueError(f"amp must be none, bf16 or fp16, got {cfg.amp!r}")
    torch.manual_seed(cfg.seed * world + rank)
    out_dir = Path(cfg.output)
    ckpt_dir = out_dir / "checkpoints"
    if rank == 0:
        ckpt_dir.mkdir(parents=True, exist_ok=True)

    channels = cfg.channels or (1 if cfg.data == "fashion-mnist" or _is_idx(cfg.data) else 3)
    if cfg.vae and channels != 3:
        raise ValueError("latent mode (--vae) needs 3-channel images")
    dataset, num_classes = load_dataset(cfg.data, cfg.image_size, channels, limit=cfg.limit)
    codec = LatentCodec(cfg.vae).to(device) if cfg.vae else None
    input_size = cfg.image_size // codec.downsample if codec else cfg.image_size
    in_channels = codec.latent_channels if codec else channels
    model_args = dict(name=cfg.model, input_size=input_size, in_channels=in_channels, num_classes=num_classes,
                      learn_sigma=cfg.learn_sigma, class_dropout_prob=cfg.class_dropout, **cfg.model_kwargs)
    model = create_generator(**model_args).to(device)
    ema = copy.deepcopy(model).requires_grad_(False).eval()
    diffusion: GaussianDiffusion = diffusion_from_config(asdict(cfg))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp == "fp16" and device.type == "cuda")

    step, history = 0, []
    resume = str(ckpt_dir / "last.pt") if cfg.resume == "auto" else cfg.resume
    if resume and Path(resume).exists():
        ckpt = read_checkpoint(resume)
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["opt"])
        step, history = ckpt["step"], ckpt.get("history", [])
        _log.info("resumed from %s at step %d", resume, step)
    elif resume and cfg.resume != "auto":
        raise FileNotFoundError(f"resume checkpoint {resume} does not exist")

    train_model = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    sampler = DistributedSampler(dataset, seed=cfg.seed) if world > 1 else None
    loader = DataLoader(dataset, batch_size=cfg.batch_size // world, shuffle=sampler is None, sampler=sampler,
                        drop_last=True, num_workers=cfg.workers, pin_memory=device.type == "cuda")
    batches = _infinite(loader, sampler)
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.amp)
    num_sample_classes = min(num_classes, 10)
    grid_labels = torch.arange(num_sample_classes).repeat_interleave(8 if num_sample_classes <= 10 else 1)

    def save(name: str) -> None:
        state = dict(model=model.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), step=step,
                     history=history, config=asdict(cfg), model_args=model_args)
        tmp = ckpt_dir / f".{name}.tmp"
        torch.save(state, tmp)
        tmp.replace(ckpt_dir / name)

    def sample_grid() -> Path:
        imgs = generate(ema, diffusion, grid_labels, codec=codec, sampler=cfg.sample_sampler,
                        steps=cfg.sample_steps, cfg_scale=cfg.sample_cfg, seed=cfg.seed)
        # labels are class-major, 8 per class: one row per class
        return save_grid(imgs, out_dir / "samples" / f"step_{step:07d}.png", nrow=8)

    model.train()
    bar = tqdm(total=cfg.steps, initial=step, desc=f"gen train {cfg.model}", disable=not cfg.progress or rank)
    t_log, acc = time.time(), {}
    while step < cfg.steps:
        x, y = next(batches)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if codec is not None:
            x = codec.encode(x)
        t = torch.randint(0, diffusion.num_timesteps, (x.shape[0],), device=device)
        noise = torch.randn_like(x)
        x_t = diffusion.q_sample(x, t, noise)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            out = train_model(x_t, t, y)
        terms = training_losses(diffusion, out, x, x_t, t, noise)
        loss = terms["loss"].mean()
        opt.zero_grad(set_to_none=True)
        if cfg.warmup_steps:
            for group in opt.param_groups:
                group["lr"] = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps)
        scaler.scale(loss).backward()
        if cfg.grad_clip > 0:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        scaler.step(opt)
        scaler.update()
        step += 1
        update_ema(ema, model, min(cfg.ema_decay, (1 + step) / (10 + step)))
        for k, v in terms.items():
            acc[k] = acc.get(k, 0.0) + v.mean().item()
        acc["n"] = acc.get("n", 0) + 1
        if step % cfg.log_every == 0 or step == cfg.steps:
            rec = {k: round(v / acc["n"], 5) for k, v in acc.items() if k != "n"}
            rec.update(step=step, sec_per_step=round((time.time() - t_log) / acc["n"], 4))
            history.append(rec)
            acc, t_log = {}, time.time()
            bar.set_postfix(loss=rec["loss"])
            if rank == 0:
                with open(out_dir / "log.jsonl", "a") as f:
                    f.write(json.dumps(rec) + "\n")
        bar.update(1)
        if rank == 0 and cfg.ckpt_every and step % cfg.ckpt_every == 0:
            save(f"step_{step:07d}.pt")
            save("last.pt")
        if rank == 0 and cfg.sample_every and step % cfg.sample_every == 0:
            sample_grid()
    bar.close()
    summary = dict(step=step, last=history[-1] if history else None, output=str(out_dir))
    if rank == 0:
        save("last.pt")
        summary["checkpoint"] = str(ckpt_dir / "last.pt")
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return summary


def _is_idx(data: str) -> bool:
    return Path(data).is_dir() and any(Path(data).glob("train-images-idx3-ubyte*"))
