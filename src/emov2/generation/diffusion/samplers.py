"""Sampling loops on diffusers' maintained schedulers, with classifier-free guidance.

- ``ddpm``: ancestral ``DDPMScheduler``; with learned sigma ``variance_type='learned_range'`` (the same
  log-variance interpolation the model is trained for). ``linspace`` spacing: for 250 steps the timesteps are
  DiT's respaced ones (``round(i * 999 / 249)``).
- ``ddim``: ``DDIMScheduler`` (deterministic for ``eta = 0``), ``trailing`` spacing (starts at t = T - 1).
- ``dpm``: ``DPMSolverMultistepScheduler`` (DPM-Solver++ 2M, deterministic), ``trailing`` spacing; good in
  10-25 steps.
- ``heun``: ``HeunDiscreteScheduler`` (Karras et al.'s 2nd-order ODE solver in σ space; 2 model calls per step
  but the last), ``trailing`` spacing.

All are built on the training schedule's betas and parameterisation (ε, v or x_0). The model always sees
timesteps of the training chain (fractional for ``heun``).
"""

from __future__ import annotations

import inspect

import torch
from tqdm.auto import tqdm

from .schedule import GaussianDiffusion

__all__ = ["SAMPLERS", "initial_noise", "make_scheduler", "sample"]

SAMPLERS = ("ddpm", "ddim", "dpm", "heun")
_SPACING = {"ddpm": "linspace", "ddim": "trailing", "dpm": "trailing", "heun": "trailing"}
_PREDICTION_TYPE = {"eps": "epsilon", "v": "v_prediction", "x0": "sample"}


def make_scheduler(diffusion: GaussianDiffusion, sampler: str = "ddpm", spacing: str | None = None):
    """A diffusers scheduler on ``diffusion``'s betas (import is lazy: diffusers is the ``gen`` extra)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    try:
        from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, HeunDiscreteScheduler
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError("sampling needs diffusers: pip install 'emov2[gen]'") from e
    common = dict(
        num_train_timesteps=diffusion.num_timesteps, trained_betas=diffusion.betas.float().numpy(),
        prediction_type=_PREDICTION_TYPE[diffusion.prediction], timestep_spacing=spacing or _SPACING[sampler],
    )
    if sampler == "ddpm":
        variance = "learned_range" if diffusion.learn_sigma else "fixed_small"
        return DDPMScheduler(variance_type=variance, clip_sample=False, **common)
    if sampler == "ddim":
        return DDIMScheduler(set_alpha_to_one=True, clip_sample=False, **common)
    if sampler == "dpm":
        return DPMSolverMultistepScheduler(algorithm_type="dpmsolver++", solver_order=2, **common)
    return HeunDiscreteScheduler(**common)


def initial_noise(shape: tuple[int, ...], generator: torch.Generator | list[torch.Generator] | None) -> torch.Tensor:
    """Standard normal x_T of ``shape`` (N, C, H, W) on the CPU; a list of N generators draws sample i from the
    i-th one (so a sample does not depend on the batch it is drawn in)."""
    if isinstance(generator, list):
        if len(generator) != shape[0]:
            raise ValueError(f"got {len(generator)} generators for a batch of {shape[0]}")
        return torch.stack([torch.randn(shape[1:], generator=g) for g in generator])
    return torch.randn(shape, generator=generator)


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
    generator: torch.Generator | list[torch.Generator] | None = None,
    noise: torch.Tensor | None = None,
    spacing: str | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Draw one sample per label: labels (N,) -> x_0 (N, C, H, W) in the model's input space.

    Args:
        model: a :class:`DiffusionTransformer` (eval mode is the caller's choice).
        sampler: one of :data:`SAMPLERS`.
        steps: number of denoising steps (at most the chain length).
        cfg_scale: classifier-free guidance scale; 1 disables guidance.
        eta: DDIM's noise scale (0: deterministic).
        generator: CPU generator (or one per sample) for the start noise, unless ``noise`` is given, and for the
            noise of the stochastic steps (DDPM, DDIM with eta > 0). Equal seeds give equal results.
        noise: the start noise x_T (N, C, H, W), standard normal.
        spacing: diffusers ``timestep_spacing`` (default per sampler, see the module docstring).
    """
    if not 1 <= steps <= diffusion.num_timesteps:
        raise ValueError(f"steps must be in [1, {diffusion.num_timesteps}], got {steps}")
    device = next(model.parameters()).device
    scheduler = make_scheduler(diffusion, sampler, spacing)
    scheduler.set_timesteps(steps)
    n, c, s = labels.shape[0], model.in_channels, model.input_size
    if noise is None:
        noise = initial_noise((n, c, s, s), generator)
    elif noise.shape != (n, c, s, s):
        raise ValueError(f"start noise must have shape {(n, c, s, s)}, got {tuple(noise.shape)}")
    x = noise.to(device) * scheduler.init_noise_sigma
    labels = labels.to(device)
    accepted = inspect.signature(scheduler.step).parameters
    step_kwargs = {k: v for k, v in dict(eta=eta, generator=generator).items() if k in accepted}
    keep_variance = sampler == "ddpm" and diffusion.learn_sigma
    for t in tqdm(scheduler.timesteps, desc=f"{sampler} sampling", disable=not progress, leave=False):
        t_batch = torch.full((n,), float(t), device=device)
        out = model.forward_with_cfg(scheduler.scale_model_input(x, t), t_batch, labels, cfg_scale).float()
        if not keep_variance:
            out = out[:, :c]
        x = scheduler.step(out, t, x, **step_kwargs).prev_sample
    return x
