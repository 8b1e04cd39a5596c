"""DDPM training objective and samplers for the diffusion transformers."""

from .losses import discretized_gaussian_log_likelihood, normal_kl, training_losses, vb_terms_bpd
from .samplers import SAMPLERS, make_scheduler, sample
from .schedule import GaussianDiffusion, linear_betas

__all__ = [
    "SAMPLERS",
    "GaussianDiffusion",
    "discretized_gaussian_log_likelihood",
    "linear_betas",
    "make_scheduler",
    "normal_kl",
    "sample",
    "training_losses",
    "vb_terms_bpd",
]
