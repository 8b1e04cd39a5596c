"""DDPM training objective (ε / v / x_0 targets, linear or cosine schedule) and samplers for the diffusion
transformers."""

from .losses import discretized_gaussian_log_likelihood, normal_kl, training_losses, vb_terms_bpd
from .samplers import SAMPLERS, initial_noise, make_scheduler, sample
from .schedule import PREDICTIONS, SCHEDULES, GaussianDiffusion, cosine_betas, linear_betas

__all__ = [
    "PREDICTIONS",
    "SAMPLERS",
    "SCHEDULES",
    "GaussianDiffusion",
    "cosine_betas",
    "discretized_gaussian_log_likelihood",
    "initial_noise",
    "linear_betas",
    "make_scheduler",
    "normal_kl",
    "sample",
    "training_losses",
    "vb_terms_bpd",
]
