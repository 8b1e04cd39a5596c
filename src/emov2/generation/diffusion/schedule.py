"""Gaussian diffusion with DiT's linear beta schedule (DDPM, Ho et al. 2020): the forward process and the
quantities of its true posterior, in float64.

Shapes: ``x`` (N, C, H, W); ``t`` (N,) integer timesteps in ``[0, num_timesteps)``.
"""

from __future__ import annotations

import torch

__all__ = ["GaussianDiffusion", "linear_betas"]


def linear_betas(num_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """DDPM's linear schedule, rescaled so that any ``num_timesteps`` spans the same noise range as 1000."""
    scale = 1000 / num_timesteps
    return torch.linspace(scale * beta_start, scale * beta_end, num_timesteps, dtype=torch.float64)


def _gather(a: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """a[t] (float64 table) as x's dtype, broadcastable to x: (N, 1, 1, 1)."""
    return a.to(t.device)[t].to(x.dtype).reshape(-1, *([1] * (x.dim() - 1)))


class GaussianDiffusion:
    """The forward process q(x_t | x_0) and posterior q(x_{t-1} | x_t, x_0) of a discrete-time diffusion.

    Args:
        num_timesteps: length of the chain (1000 as DiT).
        learn_sigma: the model also outputs per-pixel values ``v`` in [-1, 1] interpolating the log variance
            between the posterior variance and beta_t (Nichol & Dhariwal 2021).
    """

    def __init__(self, num_timesteps: int = 1000, learn_sigma: bool = True) -> None:
        self.num_timesteps = num_timesteps
        self.learn_sigma = learn_sigma
        self.betas = linear_betas(num_timesteps)
        alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(alphas, 0)
        self.alphas_cumprod_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alphas_cumprod[:-1]])
        self.sqrt_alphas_cumprod = self.alphas_cumprod.sqrt()
        self.sqrt_one_minus_alphas_cumprod = (1.0 - self.alphas_cumprod).sqrt()
        self.sqrt_recip_alphas_cumprod = (1.0 / self.alphas_cumprod).sqrt()
        self.sqrt_recipm1_alphas_cumprod = (1.0 / self.alphas_cumprod - 1).sqrt()
        self.posterior_variance = self.betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        # The posterior variance is 0 at t = 0: clip the log with its value at t = 1.
        self.posterior_log_variance_clipped = torch.log(
            torch.cat([self.posterior_variance[1:2], self.posterior_variance[1:]])
        )
        self.posterior_mean_coef1 = self.betas * self.alphas_cumprod_prev.sqrt() / (1.0 - self.alphas_cumprod)
        self.posterior_mean_coef2 = (1.0 - self.alphas_cumprod_prev) * alphas.sqrt() / (1.0 - self.alphas_cumprod)

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

    def p_mean_variance(self, model_output: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> dict:
        """The model's p(x_{t-1} | x_t) from its output (N, 2C or C, H, W).

        Returns ``mean``, ``log_variance`` and ``pred_xstart`` (no clipping: latents are unbounded).
        """
        c = x_t.shape[1]
        eps = model_output[:, :c]
        if self.learn_sigma:
            frac = (model_output[:, c:] + 1) / 2  # v in [-1, 1] -> [0, 1]
            min_log = _gather(self.posterior_log_variance_clipped, t, x_t)
            max_log = _gather(torch.log(self.betas), t, x_t)
            log_variance = frac * max_log + (1 - frac) * min_log
        else:
            log_variance = _gather(self.posterior_log_variance_clipped, t, x_t).expand_as(x_t)
        pred_xstart = self.predict_start_from_eps(x_t, t, eps)
        mean, _ = self.q_posterior(pred_xstart, x_t, t)
        return dict(mean=mean, log_variance=log_variance, pred_xstart=pred_xstart)
