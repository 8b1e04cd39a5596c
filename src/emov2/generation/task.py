"""Class-conditional diffusion on the engine: the adapter that ``emov2 gen train`` runs (D-EMOv2 and DiT).

Training: DiT's objective (noise a clean image to a random timestep, predict ε, v or x₀; the hybrid loss with
learned sigma). Evaluation (on the EMA weights when ``--model-ema``): the held-out denoising loss at fixed
timesteps and noise, and with ``--classifier`` an FID-like score and the class accuracy of class-balanced samples
at each ``--eval-cfg`` scale (drawn in parallel over torchrun processes); a sample grid per evaluation in
``OUTPUT/samples/``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..data.fashion_mnist import FASHION_MNIST_CLASSES, find_fashion_mnist
from ..engine.data import EpochLoader
from ..engine.task import Task, TaskData
from .config import GenConfig
from .data import LatentCodec, load_dataset
from .diffusion import GaussianDiffusion, training_losses
from .npz import balanced_labels
from .registry import GENERATORS, create_generator
from .sampling import generate, generate_sharded, save_grid, to_uint8

__all__ = ["GenerationTask"]

SAMPLE_BATCH = 100  # images per sampling call in evaluations


def _is_fashion_mnist(data: str) -> bool:
    return data == "fashion-mnist" or (Path(data).is_dir() and find_fashion_mnist(Path(data)) is not None)


class GenerationTask(Task):
    """Diffusion training; the kept weights have the lowest FID-like score at the first ``--eval-cfg`` (or the
    lowest held-out denoising loss without ``--classifier``)."""

    name = "gen"
    higher_is_better = False
    eval_ema_only = True  # a generator is sampled from its EMA weights (DiT)
    precise_bn = False

    def __init__(self, cfg: GenConfig) -> None:
        super().__init__(cfg)
        self.cfg: GenConfig = cfg
        if cfg.model not in GENERATORS:
            raise ValueError(f"unknown generator {cfg.model!r}; known: {', '.join(GENERATORS)}")
        if not cfg.eval_cfg:
            raise ValueError("--eval-cfg needs at least one guidance scale")
        self.primary_metric = "fid" if cfg.classifier else "val_loss"
        self.diffusion = GaussianDiffusion(num_timesteps=cfg.num_timesteps, learn_sigma=cfg.learn_sigma,
                                           schedule=cfg.schedule, prediction=cfg.prediction, snr_gamma=cfg.snr_gamma)
        self.channels = cfg.channels or (1 if _is_fashion_mnist(cfg.data) else 3)
        if cfg.vae and self.channels != 3:
            raise ValueError("latent mode (--vae) needs 3-channel images (--channels 3)")
        self.codec: LatentCodec | None = None
        self._val: tuple[torch.Tensor, ...] | None = None
        self._scorer = None

    # data and model ---------------------------------------------------------------------------------------------
    def build_data(self, dist) -> TaskData:
        cfg = self.cfg
        self.train_ds, self.num_classes = load_dataset(cfg.data, cfg.img_size, self.channels, split="train",
                                                       limit=cfg.limit or None)
        if len(self.train_ds) == 0:
            raise ValueError(f"{cfg.data}: no training images")
        self.held_out = _is_fashion_mnist(cfg.data)  # Fashion-MNIST: the test split; a folder: its own images
        self.classes = (list(FASHION_MNIST_CLASSES) if self.held_out and self.num_classes == 10
                        else list(getattr(self.train_ds, "classes", [str(i) for i in range(self.num_classes)])))
        if cfg.batch_size % dist.world_size:
            raise ValueError(f"--batch-size {cfg.batch_size} is not divisible by the {dist.world_size} processes")
        per_proc = cfg.batch_size // dist.world_size
        if len(self.train_ds) < per_proc:
            raise ValueError(f"{cfg.data} has {len(self.train_ds)} training images, fewer than one batch of "
                             f"{per_proc}: lower --batch-size")
        if cfg.vae:
            self.codec = LatentCodec(cfg.vae).to(dist.device)
        loader = EpochLoader(self.train_ds, per_proc, dist, seed=cfg.seed, train=True, workers=cfg.workers,
                             pin_memory=dist.device.type == "cuda")
        if not cfg.classifier:
            self.notes.append("no --classifier: evaluations report the held-out denoising loss only (an FID-like "
                              "score and class accuracy need a classifier from `emov2 train`, docs/generation.md)")
        elif not self.held_out:
            self.notes.append(f"FID-like reference: the training images of {cfg.data} (no held-out split)")
        space = f"{self.codec.latent_channels}-channel latents" if self.codec else f"{self.channels}-channel pixels"
        return TaskData(loader, f"{len(self.train_ds)} images of {self.num_classes} classes at {cfg.img_size} px "
                                f"({space})")

    def build_model(self) -> nn.Module:
        cfg = self.cfg
        size = cfg.img_size // self.codec.downsample if self.codec else cfg.img_size
        overrides = {k: getattr(cfg, k) for k in ("hidden_size", "depth", "num_heads", "window_size")
                     if getattr(cfg, k) is not None}
        self.model_args = dict(name=cfg.model, input_size=size,
                               in_channels=self.codec.latent_channels if self.codec else self.channels,
                               num_classes=self.num_classes, learn_sigma=cfg.learn_sigma,
                               class_dropout_prob=cfg.class_dropout, **overrides)
        args = dict(self.model_args)
        return create_generator(args.pop("name"), **args)

    # training ---------------------------------------------------------------------------------------------------
    def _encode(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.codec.encode(x, generator) if self.codec is not None else x

    def loss(self, model: nn.Module, batch) -> dict[str, torch.Tensor]:
        """One batch (x (B, C, H, W) in [-1, 1], y (B,)): uniform timesteps, Gaussian noise, one model call."""
        device = self.dist.device
        x, y = batch[0].to(device, non_blocking=True), batch[1].to(device, non_blocking=True)
        x = self._encode(x)
        t = torch.randint(0, self.diffusion.num_timesteps, (x.shape[0],), device=device)
        noise = torch.randn_like(x)
        x_t = self.diffusion.q_sample(x, t, noise)
        out = model(x_t, t, y)
        with torch.autocast(device.type, enabled=False):  # the objective in float32 (float64 coefficients)
            terms = training_losses(self.diffusion, out.float(), x, x_t, t, noise)
        return {k: v.mean() for k, v in terms.items()}

    # evaluation -------------------------------------------------------------------------------------------------
    def _held_out(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``n`` held-out images (N, C, H, W) in [-1, 1] and labels, in a fixed order."""
        cfg = self.cfg
        ds, _ = load_dataset(cfg.data, cfg.img_size, self.channels, split="test" if self.held_out else "train",
                             limit=n if self.held_out else None)
        if hasattr(ds, "tensors"):
            return ds.tensors[0][:n], ds.tensors[1][:n]
        gen = torch.Generator().manual_seed(0)
        idx = torch.randperm(len(ds), generator=gen)[:n].tolist()  # a fixed spread over the folder's classes
        items = [ds[i] for i in idx]
        return torch.stack([im for im, _ in items]), torch.tensor([lab for _, lab in items])

    def _val_batch(self) -> tuple[torch.Tensor, ...]:
        """Held-out (x0, y, t, noise), fixed for the whole run: the denoising loss compares steps like for like."""
        if self._val is None:
            x, y = self._held_out(self.cfg.val_images)
            gen = torch.Generator().manual_seed(self.cfg.seed)
            x = self._encode(x.to(self.dist.device), gen if self.codec is not None else None).cpu()
            t = torch.randint(0, self.diffusion.num_timesteps, (len(x),), generator=gen)
            self._val = (x, y, t, torch.randn(x.shape, generator=gen))
        return self._val

    @torch.no_grad()
    def _val_loss(self, model: nn.Module) -> dict:
        x, y, t, noise = (v.to(self.dist.device) for v in self._val_batch())
        totals: dict[str, float] = {}
        for s in range(0, len(x), 64):
            sl = slice(s, s + 64)
            x_t = self.diffusion.q_sample(x[sl], t[sl], noise[sl])
            terms = training_losses(self.diffusion, model(x_t, t[sl], y[sl]).float(), x[sl], x_t, t[sl], noise[sl])
            for k, v in terms.items():
                totals[k] = totals.get(k, 0.0) + float(v.sum())
        return {("val_loss" if k == "loss" else f"val_{k}"): v / len(x) for k, v in totals.items()}

    def _scoring(self):
        """(extractor, FID reference on held-out real images), built once."""
        if self._scorer is None:
            from .fid import ClassifierExtractor, FrechetReference

            extractor = ClassifierExtractor.from_artifact(self.cfg.classifier).to(self.dist.device)
            real, _ = self._held_out(self.cfg.eval_real)
            self._scorer = (extractor, FrechetReference(extractor, to_uint8(real).to(self.dist.device)))
        return self._scorer

    def _sample_kwargs(self, cfg_scale: float) -> dict:
        return dict(sampler=self.cfg.eval_sampler, steps=self.cfg.eval_steps, cfg_scale=cfg_scale)

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> dict:
        from .fid import class_accuracy

        model.eval()
        cfg, d = self.cfg, self.dist
        result = self._val_loss(model)
        if cfg.classifier:
            extractor, reference = self._scoring()
            labels = balanced_labels(cfg.eval_samples, self.num_classes)
            for i, scale in enumerate(cfg.eval_cfg):
                images = generate_sharded(model, self.diffusion, labels, rank=d.rank, world_size=d.world_size,
                                          batch_size=SAMPLE_BATCH, seed=cfg.seed, codec=self.codec,
                                          **self._sample_kwargs(scale))
                u8 = to_uint8(images).to(d.device)
                suffix = "" if i == 0 else f"_cfg{scale:g}"
                result["fid" + suffix] = reference.distance(u8)
                result["class_acc" + suffix] = 100.0 * class_accuracy(extractor, u8, labels.to(d.device))
        if d.is_main:
            per_class = 8
            shown = min(self.num_classes, 10)
            grid_labels = torch.arange(shown).repeat_interleave(per_class)
            images = generate(model, self.diffusion, grid_labels, codec=self.codec, seed=cfg.seed,
                              batch_size=SAMPLE_BATCH, **self._sample_kwargs(cfg.grid_cfg))
            path = save_grid(images, Path(cfg.output) / "samples" / f"step_{self.step:07d}.png", nrow=per_class)
            result["grid"] = str(path)
        return result

    # artifacts --------------------------------------------------------------------------------------------------
    def describe(self) -> str:
        return f"{self.cfg.model} on {self.cfg.data}"

    def artifact_info(self) -> dict:
        cfg = self.cfg
        return {
            "arch": cfg.model, "model_args": dict(self.model_args), "num_classes": self.num_classes,
            "classes": self.classes, "img_size": cfg.img_size, "channels": self.channels, "vae": cfg.vae,
            "diffusion": {"num_timesteps": cfg.num_timesteps, "learn_sigma": cfg.learn_sigma,
                          "schedule": cfg.schedule, "prediction": cfg.prediction, "snr_gamma": cfg.snr_gamma},
            "data": cfg.data,
        }

    def on_new_best(self, result: dict, out_dir) -> None:
        grid = result.get("grid")
        if grid and Path(grid).is_file():
            import shutil

            shutil.copyfile(grid, Path(out_dir) / "samples_best.png")
