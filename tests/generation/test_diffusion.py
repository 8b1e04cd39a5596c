"""Diffusion: schedule vs diffusers, learned-range variance, hybrid loss, overfitting, sampler determinism."""

from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("diffusers", reason="samplers use diffusers (the 'gen' extra)")

from emov2.generation import create_generator
from emov2.generation.diffusion import (
    GaussianDiffusion,
    discretized_gaussian_log_likelihood,
    make_scheduler,
    normal_kl,
    sample,
    training_losses,
)


@pytest.fixture(scope="module")
def diffusion():
    return GaussianDiffusion()


def test_linear_schedule_matches_dit_endpoints_and_diffusers(diffusion):
    assert diffusion.betas[0].item() == pytest.approx(1e-4)
    assert diffusion.betas[-1].item() == pytest.approx(0.02)
    from diffusers import DDPMScheduler

    ref = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4, beta_end=0.02)
    torch.testing.assert_close(diffusion.alphas_cumprod.float(), ref.alphas_cumprod, rtol=1e-5, atol=1e-7)


def test_learned_range_variance_matches_diffusers(diffusion):
    """Our p(x_{t-1}|x_t) variance interpolation equals the diffusers scheduler used for sampling."""
    sched = make_scheduler(diffusion, "ddpm")
    sched.set_timesteps(1000)
    for t in (1, 10, 500, 999):
        v = torch.tensor([-1.0, -0.3, 0.0, 0.7, 1.0]).view(1, 5, 1, 1)
        x_t = torch.zeros(1, 5, 1, 1)
        out = diffusion.p_mean_variance(torch.cat([torch.zeros_like(v), v], 1), x_t, torch.tensor([t]))
        ref = sched._get_variance(t, predicted_variance=v)  # for learned_range diffusers returns the log variance
        torch.testing.assert_close(out["log_variance"], ref, rtol=1e-4, atol=1e-4)


def test_posterior_recovers_x0_direction(diffusion):
    x0, noise = torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4)
    t = torch.tensor([0, 100, 999])
    x_t = diffusion.q_sample(x0, t, noise)
    torch.testing.assert_close(diffusion.predict_start_from_eps(x_t, t, noise), x0, rtol=1e-4, atol=1e-4)
    mean, _ = diffusion.q_posterior(x0, x_t, torch.tensor([0, 100, 999]))
    assert mean.shape == x0.shape


def test_kl_and_likelihood_basics():
    m, lv = torch.randn(5), torch.randn(5)
    torch.testing.assert_close(normal_kl(m, lv, m, lv), torch.zeros(5))
    assert (normal_kl(m, lv, m + 1, lv) > 0).all()
    x = torch.tensor([-1.0, 0.0, 1.0])
    ll = discretized_gaussian_log_likelihood(x, x, torch.full((3,), math.log(1e-3)))
    assert (ll <= 0).all() and (ll > -1e-3).all()  # almost all mass in the right bin


def test_vb_is_zero_for_the_true_posterior_variance(diffusion):
    """With ε exact and v chosen to give the posterior variance (v = -1), the KL term vanishes for t > 0."""
    x0, noise = torch.rand(2, 1, 8, 8) * 2 - 1, torch.randn(2, 1, 8, 8)
    t = torch.tensor([5, 700])
    x_t = diffusion.q_sample(x0, t, noise)
    out = torch.cat([noise, -torch.ones_like(noise)], dim=1)
    terms = training_losses(diffusion, out, x0, x_t, t, noise)
    torch.testing.assert_close(terms["mse"], torch.zeros(2))
    assert terms["vb"].abs().max() < 1e-4


def test_hybrid_loss_trains_variance_only_through_vb(diffusion):
    x0, noise = torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8)
    t = torch.tensor([3, 400])
    x_t = diffusion.q_sample(x0, t, noise)
    out = torch.zeros(2, 2, 8, 8, requires_grad=True)
    training_losses(diffusion, out, x0, x_t, t, noise)["vb"].sum().backward()
    assert out.grad[:, :1].abs().max() == 0 and out.grad[:, 1:].abs().max() > 0


@pytest.mark.parametrize("name", ["d_emov2_t_4", "dit_t_4"])
def test_tiny_overfit_loss_decreases(name, diffusion):
    torch.manual_seed(0)
    model = create_generator(name, in_channels=1, num_classes=10, hidden_size=48, depth=2, num_heads=2)
    x0 = torch.rand(8, 1, 32, 32) * 2 - 1
    y = torch.arange(8) % 10
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(0)
    t = torch.randint(0, 1000, (8,), generator=gen)  # a fixed batch: the loss must fall
    noise = torch.randn(x0.shape, generator=gen)
    x_t = diffusion.q_sample(x0, t, noise)
    losses = []
    for _ in range(30):
        loss = training_losses(diffusion, model(x_t, t, y), x0, x_t, t, noise)["loss"].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.fixture(scope="module")
def random_model():
    torch.manual_seed(0)
    model = create_generator("d_emov2_t_4", in_channels=1, num_classes=10, depth=1).eval()
    for p in model.parameters():  # non-trivial outputs
        if p.requires_grad:
            torch.nn.init.normal_(p, std=0.02)
    return model


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_sampler_determinism(random_model, diffusion, sampler):
    y = torch.tensor([0, 5])
    kw = dict(sampler=sampler, steps=4, cfg_scale=2.0)
    a = sample(random_model, diffusion, y, generator=torch.Generator().manual_seed(1), **kw)
    b = sample(random_model, diffusion, y, generator=torch.Generator().manual_seed(1), **kw)
    c = sample(random_model, diffusion, y, generator=torch.Generator().manual_seed(2), **kw)
    assert a.shape == (2, 1, 32, 32) and torch.isfinite(a).all()
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.allclose(a, c)


def test_ddim_is_deterministic_given_the_start_noise(random_model, diffusion):
    """DDIM (eta 0) draws noise only once: same start -> same result even with a differently seeded step noise."""
    y = torch.tensor([1])
    a = sample(random_model, diffusion, y, sampler="ddim", steps=3, generator=torch.Generator().manual_seed(3))
    b = sample(random_model, diffusion, y, sampler="ddim", steps=3, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_sampler_rejects_bad_steps(random_model, diffusion):
    with pytest.raises(ValueError, match="steps"):
        sample(random_model, diffusion, torch.tensor([0]), steps=0)
    with pytest.raises(ValueError, match="sampler"):
        make_scheduler(diffusion, "euler")
