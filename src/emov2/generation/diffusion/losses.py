"""DiT's training objective: the MSE of the prediction target (ε for DiT; v or x_0 by choice, optionally
Min-SNR-γ weighted) plus, with learned sigma, the variational bound term for the variance (the "hybrid" loss of
Nichol & Dhariwal 2021, with the mean's gradient stopped in the bound).

All terms are in bits per dimension for the bound, and a mean over pixels for the MSE; shapes (N,).
"""

from __future__ import annotations

import math

import torch

from .schedule import GaussianDiffusion

__all__ = ["discretized_gaussian_log_likelihood", "normal_kl", "training_losses"]


def normal_kl(mean1: torch.Tensor, logvar1: torch.Tensor, mean2: torch.Tensor, logvar2: torch.Tensor) -> torch.Tensor:
    """KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)) elementwise, in nats."""
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * torch.exp(-logvar2))


def _std_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    """Fast tanh approximation of the standard normal CDF."""
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def discretized_gaussian_log_likelihood(x: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor) -> torch.Tensor:
    """Log-likelihood of data in [-1, 1] quantised to 256 levels under a Gaussian, elementwise, in nats."""
    centered = x - means
    inv_stdv = torch.exp(-log_scales)
    cdf_plus = _std_normal_cdf(inv_stdv * (centered + 1.0 / 255.0))
    cdf_min = _std_normal_cdf(inv_stdv * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_delta = torch.log((cdf_plus - cdf_min).clamp(min=1e-12))
    return torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_min, log_delta))


def _mean_flat(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=tuple(range(1, x.dim())))


def vb_terms_bpd(
    diffusion: GaussianDiffusion, model_output: torch.Tensor, x_start: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """One term of the variational bound, (N,) bits/dim: KL(q posterior || p) for t > 0, decoder NLL at t = 0."""
    true_mean, true_log_var = diffusion.q_posterior(x_start, x_t, t)
    out = diffusion.p_mean_variance(model_output, x_t, t)
    kl = _mean_flat(normal_kl(true_mean, true_log_var, out["mean"], out["log_variance"])) / math.log(2.0)
    nll = -discretized_gaussian_log_likelihood(x_start, out["mean"], 0.5 * out["log_variance"])
    nll = _mean_flat(nll) / math.log(2.0)
    return torch.where(t == 0, nll, kl)


def training_losses(
    diffusion: GaussianDiffusion, model_output: torch.Tensor, x_start: torch.Tensor, x_t: torch.Tensor,
    t: torch.Tensor, noise: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Per-sample losses from one model call: ``loss`` = weight * ``mse`` (+ ``vb`` with learned sigma), each (N,).

    ``mse`` is the unweighted MSE of ``diffusion.target`` (ε, v or x_0); the weight is
    ``diffusion.loss_weight(t)`` (1 unless Min-SNR is on). The bound term sees the predicted mean detached, so it
    trains only the variance channels.
    """
    c = x_t.shape[1]
    model_output = model_output.float()
    target = diffusion.target(x_start.float(), t, noise.float())
    terms = {"mse": _mean_flat((target - model_output[:, :c]) ** 2)}
    weighted = diffusion.loss_weight(t) * terms["mse"]
    if diffusion.learn_sigma:
        frozen = torch.cat([model_output[:, :c].detach(), model_output[:, c:]], dim=1)
        terms["vb"] = vb_terms_bpd(diffusion, frozen, x_start, x_t, t)
        terms["loss"] = weighted + terms["vb"]
    else:
        terms["loss"] = weighted
    return terms
