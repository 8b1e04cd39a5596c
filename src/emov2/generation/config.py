"""Settings of ``emov2 gen train``: the engine's plus the generator's and its diffusion objective's.

The defaults are the embedded Fashion-MNIST recipe (``--config fashion_mnist`` spells them out): a small
D-EMOv2 on 32 px pixels, cosine schedule, v-prediction, plain MSE, AdamW 1e-3 at constant lr after 100
warm-up iterations, EMA 0.9999 with warm-up. ``--config dit_imagenet`` is DiT's ImageNet recipe.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.config import EngineConfig, setting

__all__ = ["GenConfig", "PREDICTIONS", "SAMPLERS", "SCHEDULES"]

# The choices of emov2.generation.diffusion, spelled out so that building the parser imports no diffusers.
SCHEDULES = ("linear", "cosine")
PREDICTIONS = ("eps", "v", "x0")
SAMPLERS = ("ddpm", "ddim", "dpm", "heun")


@dataclass
class GenConfig(EngineConfig):
    """Everything ``emov2 gen train`` can set (docs/cli.md lists the flags)."""

    model: str = setting("d_emov2_fm", "generator: d_emov2_{fm,t_4,s_2,b_2,l_2,xl_2} or dit_{fm,t_4,s_2,b_2,l_2,xl_2}")
    hidden_size: int | None = setting(None, "override the generator's width")
    depth: int | None = setting(None, "override the generator's number of blocks")
    num_heads: int | None = setting(None, "override the generator's attention heads")
    window_size: int | None = setting(None, "override D-EMOv2's attention window (tokens)")
    data: str = setting("fashion-mnist", "'fashion-mnist' (the system's IDX files), a folder of Fashion-MNIST IDX "
                                         "files, or an ImageFolder tree <class>/<image>")
    img_size: int = setting(32, "image side in pixels (Fashion-MNIST's 28 px are resized as emov2 train does)")
    channels: int | None = setting(None, "pixel channels (default: 1 for Fashion-MNIST, 3 otherwise)")
    vae: str = setting("", "local diffusers AutoencoderKL folder: train in its latent space (nothing downloaded)")
    limit: int = setting(0, "use only the first N training images (0: all)")
    class_dropout: float = setting(0.1, "label drop probability for classifier-free guidance")
    learn_sigma: bool = setting(False, "learn the variance too (DiT's hybrid loss with the variational bound)")
    num_timesteps: int = setting(1000, "diffusion chain length")
    schedule: str = setting("cosine", "noise schedule (DiT: linear)", choices=SCHEDULES)
    prediction: str = setting("v", "training target (DiT: eps)", choices=PREDICTIONS)
    snr_gamma: float = setting(0.0, "Min-SNR-gamma loss weighting (0: plain MSE, as DiT)")
    # evaluation (every --eval-interval; the EMA weights when --model-ema)
    classifier: str = setting("", "classifier artifact from emov2 train (best.safetensors) whose features give "
                                  "an FID-like score and whose predictions give the samples' class accuracy; "
                                  "empty: evaluate the held-out denoising loss only")
    eval_samples: int = setting(500, "class-balanced samples drawn per evaluation")
    eval_real: int = setting(5000, "real held-out images for the reference statistics")
    eval_sampler: str = setting("dpm", "sampler of the evaluation samples and grids", choices=SAMPLERS)
    eval_steps: int = setting(20, "denoising steps of the evaluation samples and grids")
    eval_cfg: tuple[float, ...] = setting((1.0, 3.0), "guidance scales evaluated (the first selects the kept "
                                                       "weights; 1.0 is the paper's protocol)", metavar="CFG")
    grid_cfg: float = setting(3.0, "guidance scale of the sample grid drawn at every evaluation")
    val_images: int = setting(256, "held-out images of the denoising loss (fixed timesteps and noise)")
    # engine settings with generation defaults
    output: str = setting("runs/gen", "run folder: last.pt, metrics.jsonl, curves.png, samples/, best/final "
                                      "artifacts")
    batch_size: int = setting(64, "global batch size (split over torchrun processes)")
    iters: int = setting(5000, "training iterations (optimizer steps); 0: use --epochs")
    eval_interval: int = setting(500, "evaluate every N iterations (N epochs with --epochs); 0: only at the end")
    lr: float | None = setting(1e-3, "peak learning rate")
    weight_decay: float = setting(0.0, "weight decay (DiT: none)")
    clip_grad: float | None = setting(1.0, "clip the gradient norm to this value (none: no clipping)")
    sched: str = setting("const_cosine", "lr schedule; const_cosine with --constant-until 1: DiT's constant lr")
    constant_until: float = setting(1.0, "const_cosine: fraction of the run at constant lr before the cosine")
    warmup_iters: int = setting(100, "warm-up length in iterations")
    warmup_lr: float = setting(0.0, "learning rate at the start of the warm-up")
    model_ema: bool = setting(True, "keep an exponential moving average of the weights (sampled and kept)")
    ema_decay: float = setting(0.9999, "EMA decay (DiT: 0.9999)")
    ema_warmup: bool = setting(True, "EMA decay warm-up (timm ModelEmaV3 use_warmup)")
    workers: int = setting(0, "DataLoader worker processes per training process")
