"""Diffusion: schedules vs diffusers and hand values, parameterisations, Min-SNR, learned-range variance, hybrid
loss, every sampler against an exact denoiser, sampler determinism."""

from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("diffusers", reason="samplers use diffusers (the 'gen' extra)")

from emov2.generation import create_generator
from emov2.generation.diffusion import (
    PREDICTIONS,
    SAMPLERS,
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


def test_cosine_schedule_matches_diffusers_and_closed_form():
    from diffusers import DDPMScheduler

    d = GaussianDiffusion(schedule="cosine")
    ref = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    torch.testing.assert_close(d.betas.float(), ref.betas, rtol=1e-5, atol=1e-6)
    # below the 0.999 cap, ᾱ_t is exactly f((t+1)/T) / f(0) with f(u) = cos²((u + s)/(1 + s) π/2)
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    for t in (0, 10, 500, 900):
        assert d.alphas_cumprod[t].item() == pytest.approx(f((t + 1) / 1000) / f(0), rel=1e-9)
    assert d.betas.max().item() == pytest.approx(0.999)
    with pytest.raises(ValueError, match="schedule"):
        GaussianDiffusion(schedule="sigmoid")


def test_posterior_values_by_hand(diffusion):
    """q(x_{t-1} | x_t, x_0) coefficients and log variance from the betas, one Python float at a time."""
    x0, x_t = torch.randn(3, 1, 4, 4, dtype=torch.float64), torch.randn(3, 1, 4, 4, dtype=torch.float64)
    t = torch.tensor([0, 100, 999])
    mean, log_var = diffusion.q_posterior(x0, x_t, t)
    betas = diffusion.betas.tolist()
    for i, ti in enumerate(t.tolist()):
        abar = math.prod(1 - b for b in betas[: ti + 1])
        abar_prev = math.prod(1 - b for b in betas[:ti])
        c1 = betas[ti] * math.sqrt(abar_prev) / (1 - abar)
        c2 = (1 - abar_prev) * math.sqrt(1 - betas[ti]) / (1 - abar)
        torch.testing.assert_close(mean[i], c1 * x0[i] + c2 * x_t[i], rtol=1e-9, atol=1e-12)
        tv = max(ti, 1)  # the variance is 0 at t = 0: its log is clipped to the value at t = 1
        abar_v, abar_vprev = math.prod(1 - b for b in betas[: tv + 1]), math.prod(1 - b for b in betas[:tv])
        assert log_var[i].item() == pytest.approx(math.log(betas[tv] * (1 - abar_vprev) / (1 - abar_v)), rel=1e-9)
    assert (c1, c2) != (0, 0) and mean.shape == x0.shape


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_targets_and_their_inverse(prediction):
    """target(x_0, ε) is ε / v / x_0 (v against diffusers' get_velocity); predict_start inverts it exactly."""
    from diffusers import DDPMScheduler

    d = GaussianDiffusion(schedule="cosine", prediction=prediction)
    x0, noise = torch.randn(4, 2, 3, 3, dtype=torch.float64), torch.randn(4, 2, 3, 3, dtype=torch.float64)
    t = torch.tensor([0, 7, 400, 999])
    target = d.target(x0, t, noise)
    if prediction == "v":
        ref = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
        torch.testing.assert_close(target.float(), ref.get_velocity(x0.float(), noise.float(), t), atol=1e-5,
                                   rtol=1e-5)
    else:
        torch.testing.assert_close(target, noise if prediction == "eps" else x0)
    x_t = d.q_sample(x0, t, noise)
    torch.testing.assert_close(d.predict_start(x_t, t, target), x0, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_min_snr_weights_by_hand(prediction):
    d = GaussianDiffusion(schedule="linear", prediction=prediction, snr_gamma=5.0)
    t = torch.tensor([10, 300, 800])
    abar = d.alphas_cumprod[t]
    snr = abar / (1 - abar)  # about 1000, 2.0, 0.02
    w = d.loss_weight(t).double()
    expected = {"eps": snr.clamp(max=5) / snr, "v": snr.clamp(max=5) / (snr + 1), "x0": snr.clamp(max=5)}[prediction]
    torch.testing.assert_close(w, expected, rtol=1e-6, atol=0)
    assert w.tolist() != [1.0, 1.0, 1.0]
    torch.testing.assert_close(GaussianDiffusion(prediction=prediction).loss_weight(t), torch.ones(3))
    # the weighted loss is min(SNR, γ) times the x_0 error, whatever the parameterisation
    x0, noise = torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4)
    x_t = d.q_sample(x0, t, noise)
    out = d.target(x0, t, noise) + 0.1 * torch.randn(3, 1, 4, 4)
    loss = training_losses(GaussianDiffusion(prediction=prediction, snr_gamma=5.0, learn_sigma=False),
                           out, x0, x_t, t, noise)["loss"]
    x0_err = (d.predict_start(x_t, t, out) - x0).square().mean(dim=(1, 2, 3))
    torch.testing.assert_close(loss, snr.clamp(max=5).float() * x0_err, rtol=1e-3, atol=1e-6)


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


def test_ddpm_250_steps_are_dits_respaced_timesteps(diffusion):
    """DiT's space_timesteps(1000, [250]) takes round(i * 999 / 249), i = 0..249."""
    sched = make_scheduler(diffusion, "ddpm")
    sched.set_timesteps(250)
    assert sorted(sched.timesteps.tolist()) == [round(i * 999 / 249) for i in range(250)]


def test_kl_and_likelihood_basics():
    m, lv = torch.randn(5), torch.randn(5)
    torch.testing.assert_close(normal_kl(m, lv, m, lv), torch.zeros(5))
    assert (normal_kl(m, lv, m + 1, lv) > 0).all()
    x = torch.tensor([-1.0, 0.0, 1.0])
    ll = discretized_gaussian_log_likelihood(x, x, torch.full((3,), math.log(1e-3)))
    assert (ll <= 0).all() and (ll > -1e-3).all()  # almost all mass in the right bin


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_vb_is_zero_for_the_true_posterior_variance(prediction):
    """With an exact prediction and v chosen to give the posterior variance (v = -1), the KL term vanishes."""
    d = GaussianDiffusion(prediction=prediction)
    x0, noise = torch.rand(2, 1, 8, 8) * 2 - 1, torch.randn(2, 1, 8, 8)
    t = torch.tensor([5, 700])
    x_t = d.q_sample(x0, t, noise)
    out = torch.cat([d.target(x0, t, noise), -torch.ones_like(noise)], dim=1)
    terms = training_losses(d, out, x0, x_t, t, noise)
    torch.testing.assert_close(terms["mse"], torch.zeros(2))
    assert terms["vb"].abs().max() < 1e-3


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


class ExactDenoiser(torch.nn.Module):
    """The exact model for data that is one image ``x_star``: its ε / v / x_0 for any x_t and (fractional) t.

    Fractional t (Heun's σ-space timesteps) are mapped to ᾱ by interpolating log σ linearly between integer
    timesteps, as diffusers does the other way round.
    """

    def __init__(self, diffusion: GaussianDiffusion, x_star: torch.Tensor, learn_sigma: bool) -> None:
        super().__init__()
        self.d, self.x_star = diffusion, x_star
        self.in_channels, self.input_size, self.num_classes = x_star.shape[0], x_star.shape[-1], 10
        self.learn_sigma = learn_sigma
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.log_sigma = (((1 - diffusion.alphas_cumprod) / diffusion.alphas_cumprod).sqrt()).log()

    def forward_with_cfg(self, x, t, y, cfg_scale):
        lo = t.double().floor().long().clamp(max=self.d.num_timesteps - 2)
        w = (t.double() - lo).view(-1, 1, 1, 1)
        log_sigma = (1 - w) * self.log_sigma[lo].view(-1, 1, 1, 1) + w * self.log_sigma[lo + 1].view(-1, 1, 1, 1)
        abar = 1 / (1 + (2 * log_sigma).exp())
        x, x0 = x.double(), self.x_star.double().expand_as(x)
        eps = (x - abar.sqrt() * x0) / (1 - abar).sqrt()
        out = {"eps": eps, "v": abar.sqrt() * eps - (1 - abar).sqrt() * x0, "x0": x0}[self.d.prediction]
        if self.learn_sigma:
            out = torch.cat([out, torch.zeros_like(out)], dim=1)
        return out.float()


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("prediction", PREDICTIONS)
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sampler_recovers_the_single_image_of_an_exact_denoiser(sampler, prediction, schedule):
    """With the exact denoiser of a one-image data set every sampler must land on that image: this checks that
    betas, spacing, parameterisation and the variance channels reach the diffusers schedulers as trained."""
    d = GaussianDiffusion(schedule=schedule, prediction=prediction, learn_sigma=sampler == "ddpm")
    x_star = torch.rand(1, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    model = ExactDenoiser(d, x_star, learn_sigma=d.learn_sigma)
    out = sample(model, d, torch.tensor([0, 3]), sampler=sampler, steps=8,
                 generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(out, x_star.expand(2, -1, -1, -1), atol=2e-3, rtol=0)


@pytest.fixture(scope="module")
def random_model():
    torch.manual_seed(0)
    model = create_generator("d_emov2_t_4", in_channels=1, num_classes=10, depth=1).eval()
    for p in model.parameters():  # non-trivial outputs
        if p.requires_grad:
            torch.nn.init.normal_(p, std=0.02)
    return model


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_sampler_seeding(random_model, diffusion, sampler):
    y = torch.tensor([0, 5])
    kw = dict(sampler=sampler, steps=4, cfg_scale=2.0)
    a = sample(random_model, diffusion, y, generator=torch.Generator().manual_seed(1), **kw)
    b = sample(random_model, diffusion, y, generator=torch.Generator().manual_seed(1), **kw)
    c = sample(random_model, diffusion, y, generator=torch.Generator().manual_seed(2), **kw)
    assert a.shape == (2, 1, 32, 32) and torch.isfinite(a).all()
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert (a - c).abs().max() > 1e-2


def test_ddim_step_noise(random_model, diffusion):
    """Same start noise: eta = 0 ignores the step-noise seed; eta > 0 follows it (equal seeds, equal results)."""
    y = torch.tensor([1, 2])
    x_T = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(3))

    def run(eta: float, seed: int) -> torch.Tensor:
        return sample(random_model, diffusion, y, sampler="ddim", steps=4, eta=eta, noise=x_T,
                      generator=torch.Generator().manual_seed(seed))

    torch.testing.assert_close(run(0.0, 1), run(0.0, 2), rtol=0, atol=0)
    torch.testing.assert_close(run(1.0, 1), run(1.0, 1), rtol=0, atol=0)
    assert (run(1.0, 1) - run(1.0, 2)).abs().max() > 1e-2
    assert (run(0.0, 1) - run(1.0, 1)).abs().max() > 1e-2


def test_per_sample_generators_make_samples_independent_of_the_batch(random_model, diffusion):
    gens = lambda: [torch.Generator().manual_seed(s) for s in (5, 6, 7)]  # noqa: E731
    y = torch.tensor([0, 1, 2])
    whole = sample(random_model, diffusion, y, sampler="ddpm", steps=3, generator=gens())
    g = gens()
    first = sample(random_model, diffusion, y[:1], sampler="ddpm", steps=3, generator=g[:1])
    torch.testing.assert_close(whole[:1], first, rtol=1e-5, atol=1e-5)


def test_config_rebuilds_the_same_diffusion():
    d = GaussianDiffusion(num_timesteps=500, learn_sigma=False, schedule="cosine", prediction="x0", snr_gamma=3.0)
    again = GaussianDiffusion(**d.config())
    assert again.config() == d.config() and torch.equal(again.betas, d.betas)
    assert not torch.equal(GaussianDiffusion(num_timesteps=500).betas, d.betas)


def test_sampler_rejects_bad_input(random_model, diffusion):
    with pytest.raises(ValueError, match="steps"):
        sample(random_model, diffusion, torch.tensor([0]), steps=0)
    with pytest.raises(ValueError, match="sampler"):
        make_scheduler(diffusion, "euler")
    with pytest.raises(ValueError, match="start noise"):
        sample(random_model, diffusion, torch.tensor([0]), steps=2, noise=torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="prediction"):
        GaussianDiffusion(prediction="score")
