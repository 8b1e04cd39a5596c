"""Latent space with a local diffusers AutoencoderKL folder: encode -> optimizer steps -> sample -> decode."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("diffusers", reason="latent mode uses diffusers (the 'gen' extra)")

from emov2.generation import create_generator
from emov2.generation.data import LatentCodec
from emov2.generation.diffusion import GaussianDiffusion, sample, training_losses
from emov2.generation.sampling import generate


@pytest.fixture(scope="module")
def vae_folder(tmp_path_factory):
    """A tiny randomly initialised AutoencoderKL (2 levels: 2x down, 4 latent channels) saved to a folder."""
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("vae")
    AutoencoderKL(block_out_channels=(8, 8), down_block_types=("DownEncoderBlock2D",) * 2,
                  up_block_types=("UpDecoderBlock2D",) * 2, layers_per_block=1, latent_channels=4,
                  norm_num_groups=4, scaling_factor=0.5).save_pretrained(folder)
    return folder


def test_codec_reads_the_local_folder_and_scales(vae_folder):
    from diffusers import AutoencoderKL

    codec = LatentCodec(vae_folder)
    assert (codec.scale, codec.latent_channels, codec.downsample) == (0.5, 4, 2)
    ref = AutoencoderKL.from_pretrained(str(vae_folder), local_files_only=True).eval()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    z = codec.encode(x, torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = ref.encode(x).latent_dist.sample(torch.Generator().manual_seed(0)) * 0.5
        torch.testing.assert_close(z, expected)
        torch.testing.assert_close(codec.decode(z), ref.decode(z / 0.5).sample.clamp(-1, 1))
    with pytest.raises(FileNotFoundError, match="AutoencoderKL"):
        LatentCodec(vae_folder / "missing")


def test_encode_train_decode_end_to_end(vae_folder):
    """Train a tiny generator on the latents of 4 images for a few plain optimizer steps (the loss falls on this
    fixed batch), then sample latents and decode them to 16 px images."""
    codec = LatentCodec(vae_folder)
    torch.manual_seed(0)
    images = torch.rand(4, 3, 16, 16) * 2 - 1
    labels = torch.tensor([0, 1, 0, 1])
    z = codec.encode(images, torch.Generator().manual_seed(0))  # (4, 4, 8, 8)
    assert z.shape == (4, 4, 8, 8)
    diffusion = GaussianDiffusion(schedule="cosine", prediction="v", learn_sigma=False)
    model = create_generator("dit_t_4", input_size=8, in_channels=4, num_classes=2, learn_sigma=False,
                             hidden_size=32, depth=1, num_heads=1, patch_size=2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(1)
    t = torch.randint(0, 1000, (4,), generator=gen)
    noise = torch.randn(z.shape, generator=gen)
    x_t = diffusion.q_sample(z, t, noise)
    losses = []
    for _ in range(30):
        loss = training_losses(diffusion, model(x_t, t, labels), z, x_t, t, noise)["loss"].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    model.eval()
    out = generate(model, diffusion, torch.tensor([0, 1]), codec=codec, sampler="dpm", steps=3, cfg_scale=2.0)
    assert out.shape == (2, 3, 16, 16) and torch.isfinite(out).all() and out.abs().max() <= 1
    latents = sample(model, diffusion, torch.tensor([0, 1]), sampler="dpm", steps=3, cfg_scale=2.0,
                     generator=torch.Generator().manual_seed(0))  # generate()'s first batch has seed 0
    assert latents.shape == (2, 4, 8, 8)
    torch.testing.assert_close(out, codec.decode(latents))
