"""Sampling loops: ancestral DDPM (learned variance) and DDIM, with classifier-free guidance.

The per-step updates are diffusers' maintained ``DDPMScheduler`` (``variance_type='learned_range'``: the
same log-variance interpolation the model is trained for) and ``DDIMScheduler``, built on the training
schedule's betas; fewer steps than the chain length use evenly spaced ("leading") timesteps, the model
always sees original timestep indices.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .schedule import GaussianDiffusion

__all__ = ["SAMPLERS", "make_scheduler", "sample"]

SAMPLERS = ("ddpm", "ddim")


def make_scheduler(diffusion: GaussianDiffusion, sampler: str = "ddpm"):
    """A diffusers scheduler on ``diffusion``'s betas (import is lazy: diffusers is the ``gen`` extra)."""
    try:
        from diffusers import DDIMScheduler, DDPMScheduler
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError("sampling needs diffusers: pip install 'emov2[gen]'") from e
    common = dict(
        num_train_timesteps=diffusion.num_timesteps, trained_betas=diffusion.betas.float().numpy(),
        prediction_type="epsilon", clip_sample=False, timestep_spacing="leading",
    )
    if sampler == "ddpm":
        variance = "learned_range" if diffusion.learn_sigma else "fixed_small"
        return DDPMScheduler(variance_type=variance, **common)
    if sampler == "ddim":
        return DDIMScheduler(set_alpha_to_one=True, **common)
    raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")


@torch.no_grad()
def sample(
    model: torch.nn.Module,
    diffusion: GaussianDiffusion,
    labels: torch.Tensor,
    *,
    sampler: str = "ddpm",
    steps: int = 250,
    cfg_scale: float = 1.0,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Draw one sample per label: labels (N,) -> x_0 (N, C, H, W) in the model's input space.

    Args:
        model: a :class:`DiffusionTransformer` (eval mode is the caller's choice).
        sampler: ``'ddpm'`` (ancestral, learned variance) or ``'ddim'`` (deterministic for ``eta = 0``).
        steps: number of denoising steps (at most the chain length).
        cfg_scale: classifier-free guidance scale; 1 disables guidance.
        generator: seeds the initial noise and the DDPM noise (CPU generator; results equal for equal seeds).
    """
    if not 1 <= steps <= diffusion.num_timesteps:
        raise ValueError(f"steps must be in [1, {diffusion.num_timesteps}], got {steps}")
    device = next(model.parameters()).device
    scheduler = make_scheduler(diffusion, sampler)
    scheduler.set_timesteps(steps)
    n, c, s = labels.shape[0], model.in_channels, model.input_size
    x = torch.randn((n, c, s, s), generator=generator).to(device)
    labels = labels.to(device)
    step_kwargs = dict(eta=eta) if sampler == "ddim" else {}
    for t in tqdm(scheduler.timesteps, desc=f"{sampler} sampling", disable=not progress, leave=False):
        t_batch = torch.full((n,), int(t), device=device, dtype=torch.long)
        out = model.forward_with_cfg(x, t_batch, labels, cfg_scale).float()
        if sampler == "ddim" or not diffusion.learn_sigma:
            out = out[:, :c]
        noise_gen = generator if device.type == "cpu" else None
        x = scheduler.step(out, t, x, generator=noise_gen, **step_kwargs).prev_sample
    return x
