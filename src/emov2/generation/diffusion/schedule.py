"""Gaussian diffusion (DDPM, Ho et al. 2020): noise schedules, the forward process, the true posterior and the
model's parameterisations, in float64.

Schedules: DiT's ``linear`` betas and the ``cosine`` ᾱ of Nichol & Dhariwal 2021. Parameterisations (what the
network's first C output channels predict): ``eps`` (the noise, DiT), ``v`` (√ᾱ ε − √(1−ᾱ) x_0, Salimans & Ho
2022) or ``x0`` (the clean image). Shapes: ``x`` (N, C, H, W); ``t`` (N,) integer timesteps in
``[0, num_timesteps)``.
"""

from __future__ import annotations

import math

import torch

__all__ = ["PREDICTIONS", "SCHEDULES", "GaussianDiffusion", "cosine_betas", "linear_betas", "make_betas"]

SCHEDULES = ("linear", "cosine")
PREDICTIONS = ("eps", "v", "x0")


def linear_betas(num_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """DDPM's linear schedule, rescaled so that any ``num_timesteps`` spans the same noise range as 1000."""
    scale = 1000 / num_timesteps
    return torch.linspace(scale * beta_start, scale * beta_end, num_timesteps, dtype=torch.float64)


def cosine_betas(num_timesteps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Betas of ᾱ(u) = cos²((u + s) / (1 + s) · π/2), u = t / T: β_t = 1 − ᾱ((t+1)/T) / ᾱ(t/T), capped at
    ``max_beta`` (Nichol & Dhariwal 2021; diffusers' ``squaredcos_cap_v2``)."""
    u = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
    alpha_bar = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)


def make_betas(schedule: str, num_timesteps: int) -> torch.Tensor:
    if schedule == "linear":
        return linear_betas(num_timesteps)
    if schedule == "cosine":
        return cosine_betas(num_timesteps)
    raise ValueError(f"noise schedule must be one of {SCHEDULES}, got {schedule!r}")


def _gather(a: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """a[t] (float64 table) as x's dtype, broadcastable to x: (N, 1, 1, 1)."""
    return a.to(t.device)[t].to(x.dtype).reshape(-1, *([1] * (x.dim() - 1)))


class GaussianDiffusion:
    """The forward process q(x_t | x_0), the posterior q(x_{t-1} | x_t, x_0) and the training objective's settings.

    Args:
        num_timesteps: length of the chain (1000 as DiT).
        learn_sigma: the model also outputs per-pixel values ``v`` in [-1, 1] interpolating the log variance
            between the posterior variance and beta_t (Nichol & Dhariwal 2021).
        schedule: ``'linear'`` (DiT) or ``'cosine'``.
        prediction: ``'eps'`` (DiT), ``'v'`` or ``'x0'``: the target of the first C output channels.
        snr_gamma: Min-SNR-γ loss weighting (Hang et al. 2023): the MSE of timestep t is weighted so that it
            equals min(SNR_t, γ) times the x_0 error; 0 keeps the plain (unweighted) MSE of the target.
    """

    def __init__(
        self, num_timesteps: int = 1000, learn_sigma: bool = True, schedule: str = "linear",
        prediction: str = "eps", snr_gamma: float = 0.0,
    ) -> None:
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
        if snr_gamma < 0:
            raise ValueError(f"snr_gamma must be >= 0, got {snr_gamma}")
        self.num_timesteps = num_timesteps
        self.learn_sigma = learn_sigma
        self.schedule = schedule
        self.prediction = prediction
        self.snr_gamma = snr_gamma
        self.betas = make_betas(schedule, num_timesteps)
        alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(alphas, 0)
        self.alphas_cumprod_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alphas_cumprod[:-1]])
        self.sqrt_alphas_cumprod = self.alphas_cumprod.sqrt()
        self.sqrt_one_minus_alphas_cumprod = (1.0 - self.alphas_cumprod).sqrt()
        self.sqrt_recip_alphas_cumprod = (1.0 / self.alphas_cumprod).sqrt()
        self.sqrt_recipm1_alphas_cumprod = (1.0 / self.alphas_cumprod - 1).sqrt()
        self.snr = self.alphas_cumprod / (1.0 - self.alphas_cumprod)
        self.posterior_variance = self.betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        # The posterior variance is 0 at t = 0: clip the log with its value at t = 1.
        self.posterior_log_variance_clipped = torch.log(
            torch.cat([self.posterior_variance[1:2], self.posterior_variance[1:]])
        )
        self.posterior_mean_coef1 = self.betas * self.alphas_cumprod_prev.sqrt() / (1.0 - self.alphas_cumprod)
        self.posterior_mean_coef2 = (1.0 - self.alphas_cumprod_prev) * alphas.sqrt() / (1.0 - self.alphas_cumprod)

    def config(self) -> dict:
        """The settings that rebuild this object: ``GaussianDiffusion(**d.config())``."""
        return dict(num_timesteps=self.num_timesteps, learn_sigma=self.learn_sigma, schedule=self.schedule,
                    prediction=self.prediction, snr_gamma=self.snr_gamma)

    def q_sample(self, x_start: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Diffuse x_0 to x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε."""
        return (_gather(self.sqrt_alphas_cumprod, t, x_start) * x_start
                + _gather(self.sqrt_one_minus_alphas_cumprod, t, x_start) * noise)

    def q_posterior(self, x_start: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor):
        """Mean and log variance of q(x_{t-1} | x_t, x_0): ((N, C, H, W), (N, 1, 1, 1))."""
        mean = _gather(self.posterior_mean_coef1, t, x_t) * x_start + _gather(self.posterior_mean_coef2, t, x_t) * x_t
        return mean, _gather(self.posterior_log_variance_clipped, t, x_t)

    def predict_start_from_eps(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_0 = (x_t - sqrt(1 - ᾱ_t) ε) / sqrt(ᾱ_t)."""
        return (_gather(self.sqrt_recip_alphas_cumprod, t, x_t) * x_t
                - _gather(self.sqrt_recipm1_alphas_cumprod, t, x_t) * eps)

    def target(self, x_start: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """What the model's first C channels should output: ε, v = √ᾱ ε − √(1−ᾱ) x_0, or x_0."""
        if self.prediction == "eps":
            return noise
        if self.prediction == "x0":
            return x_start
        return (_gather(self.sqrt_alphas_cumprod, t, x_start) * noise
                - _gather(self.sqrt_one_minus_alphas_cumprod, t, x_start) * x_start)

    def predict_start(self, x_t: torch.Tensor, t: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        """x_0 implied by the model's prediction ``pred`` (N, C, H, W) under this parameterisation."""
        if self.prediction == "eps":
            return self.predict_start_from_eps(x_t, t, pred)
        if self.prediction == "x0":
            return pred
        return (_gather(self.sqrt_alphas_cumprod, t, x_t) * x_t
                - _gather(self.sqrt_one_minus_alphas_cumprod, t, x_t) * pred)

    def loss_weight(self, t: torch.Tensor) -> torch.Tensor:
        """(N,) weights of the target MSE: 1 without Min-SNR; else min(SNR, γ) / SNR (ε), / (SNR + 1) (v), or
        min(SNR, γ) (x_0); i.e. min(SNR, γ) · ||x_0 error||² in every parameterisation."""
        if not self.snr_gamma:
            return torch.ones(t.shape, dtype=torch.float32, device=t.device)
        snr = self.snr.to(t.device)[t]
        clipped = snr.clamp(max=self.snr_gamma)
        w = {"eps": clipped / snr, "v": clipped / (snr + 1), "x0": clipped}[self.prediction]
        return w.float()

    def p_mean_variance(self, model_output: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> dict:
        """The model's p(x_{t-1} | x_t) from its output (N, 2C or C, H, W).

        Returns ``mean``, ``log_variance`` and ``pred_xstart`` (no clipping: latents are unbounded).
        """
        c = x_t.shape[1]
        if self.learn_sigma:
            frac = (model_output[:, c:] + 1) / 2  # v in [-1, 1] -> [0, 1]
            min_log = _gather(self.posterior_log_variance_clipped, t, x_t)
            max_log = _gather(torch.log(self.betas), t, x_t)
            log_variance = frac * max_log + (1 - frac) * min_log
        else:
            log_variance = _gather(self.posterior_log_variance_clipped, t, x_t).expand_as(x_t)
        pred_xstart = self.predict_start(x_t, t, model_output[:, :c])
        mean, _ = self.q_posterior(pred_xstart, x_t, t)
        return dict(mean=mean, log_variance=log_variance, pred_xstart=pred_xstart)
