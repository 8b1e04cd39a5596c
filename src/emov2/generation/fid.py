"""FID-like scores and class accuracy of generated images, with a pluggable feature extractor.

Extractors map images (N, C, H, W) in [-1, 1] to ``(features (N, F), logits (N, K) or None)``:

- :class:`InceptionExtractor`: torchvision Inception-v3 pool features (2048) from a *local* weights file.
  torchvision's ImageNet weights, not the TF-FID graph: values are close to but not the published FID.
- :class:`ClassifierExtractor`: an EMOv2 classifier trained by this project (``emov2_1m`` on Fashion-MNIST by
  default); features are its pooled pre-logits, and its logits give the class accuracy of samples.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

__all__ = [
    "ClassifierExtractor",
    "InceptionExtractor",
    "feature_stats",
    "find_inception_weights",
    "frechet_distance",
    "train_classifier",
]


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), with tr((S1 S2)^(1/2)) from the eigenvalues of the
    symmetric PSD matrix S1^(1/2) S2 S1^(1/2) (float64; no scipy)."""
    mu1, mu2, s1, s2 = (a.double() for a in (mu1, mu2, sigma1, sigma2))
    evals, evecs = torch.linalg.eigh(s1)
    sqrt_s1 = evecs @ torch.diag(evals.clamp(min=0).sqrt()) @ evecs.T
    m = sqrt_s1 @ s2 @ sqrt_s1
    tr_covmean = torch.linalg.eigvalsh((m + m.T) / 2).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).square().sum() + torch.trace(s1) + torch.trace(s2) - 2 * tr_covmean)


def feature_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (F,) and unbiased covariance (F, F) of features (N, F)."""
    f = features.double()
    return f.mean(0), torch.cov(f.T)


class ClassifierExtractor(nn.Module):
    """An EMOv2 classifier as FID feature extractor: (N, C, H, W) in [-1, 1] -> (pre-logits, logits)."""

    name = "emov2-classifier"

    def __init__(self, model: nn.Module, input_size: int = 32) -> None:
        super().__init__()
        self.model = model.eval()
        self.input_size = input_size

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike) -> ClassifierExtractor:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        if "classifier_args" not in ckpt:
            raise ValueError(f"{path} is not a classifier written by `emov2 gen train-classifier`")
        from ..models import create_model

        model = create_model(**ckpt["classifier_args"])
        model.load_state_dict(ckpt["model"])
        return cls(model, ckpt.get("input_size", 32))

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[-1] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        feats = self.model.forward_head(self.model.forward_features(x), pre_logits=True)
        return feats, self.model.get_classifier()(feats)


def find_inception_weights() -> Path | None:
    """A local torchvision Inception-v3 file (``$TORCH_HOME/hub/checkpoints/inception_v3_google-*.pth``)."""
    home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    hits = sorted((home / "hub" / "checkpoints").glob("inception_v3_google-*.pth"))
    return hits[0] if hits else None


class InceptionExtractor(nn.Module):
    """torchvision Inception-v3 pool features (2048) at 299 px; grey images are repeated to RGB.

    The Google weights expect inputs in [-1, 1] (torchvision's ``transform_input`` maps ImageNet-normalised
    inputs there), which is our image range, so images are only resized.
    """

    name = "inception-v3-torchvision"

    def __init__(self, weights: str | os.PathLike) -> None:
        super().__init__()
        from torchvision.models import inception_v3

        self.net = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=False)
        self.net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self.net.fc = nn.Identity()
        self.net.eval()

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return self.net(x), None


@torch.no_grad()
def extract(extractor: nn.Module, images: torch.Tensor, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Run an extractor over images (N, C, H, W) in batches: (features (N, F), logits (N, K) or empty)."""
    feats, logits = [], []
    for start in range(0, len(images), batch_size):
        f, lg = extractor(images[start:start + batch_size])
        feats.append(f.float())
        if lg is not None:
            logits.append(lg.float())
    return torch.cat(feats), (torch.cat(logits) if logits else torch.empty(0))


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    name: str = "emov2_1m",
    num_classes: int = 10,
    epochs: float = 1.0,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    window_size: int = 0,
    progress: bool = True,
) -> tuple[nn.Module, dict]:
    """Train a small EMOv2 classifier on images (N, C, H, W) in [-1, 1]: AdamW, cosine lr, random shifts.

    ``window_size = 0`` gives global attention, which suits 32 px inputs (2x2 and 1x1 maps in stages 3-4).
    Returns (model in eval mode, checkpoint dict for :meth:`ClassifierExtractor.from_checkpoint`).
    """
    from ..models import create_model

    torch.manual_seed(seed)
    args = dict(name=name, num_classes=num_classes, in_chans=images.shape[1], window_size=window_size)
    model = create_model(**args)
    steps = max(1, int(epochs * len(images) / batch_size))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in tqdm(range(steps), desc=f"train {name}", disable=not progress):
        idx = torch.randint(0, len(images), (batch_size,), generator=gen)
        x = images[idx]
        dx, dy = torch.randint(-2, 3, (2,), generator=gen).tolist()
        x = torch.roll(x, shifts=(dx, dy), dims=(2, 3))
        loss = F.cross_entropy(model(x), labels[idx], label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    ckpt = dict(model=model.state_dict(), classifier_args=args, input_size=images.shape[-1], steps=steps)
    return model, ckpt


@torch.no_grad()
def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(1) == labels).float().mean())


def evaluate_images(
    extractor: nn.Module, fake: torch.Tensor, fake_labels: torch.Tensor, real: torch.Tensor, progress: bool = False
) -> dict:
    """FID-like distance between fake and real images plus the extractor's class accuracy on the fakes."""
    f_real, _ = extract(extractor, real)
    f_fake, logits = extract(extractor, fake)
    out = dict(extractor=extractor.name, fid=frechet_distance(*feature_stats(f_fake), *feature_stats(f_real)),
               num_fake=len(fake), num_real=len(real))
    if logits.numel():
        out["class_accuracy"] = accuracy(logits, fake_labels)
    return out
