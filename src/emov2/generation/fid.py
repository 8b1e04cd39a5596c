"""Sample quality: the Fréchet distance of features (torchmetrics' ``FrechetInceptionDistance``) and the class
accuracy of class-conditional samples, with a pluggable feature extractor.

Every extractor maps uint8 RGB images (N, 3, H, W) -- the pixels DiT's sampler writes into its ``.npz`` -- to
features (N, F), and has a ``name`` and a ``describe()`` dict that every reported number carries:

- :class:`InceptionExtractor`: the TF-FID Inception-v3 pool features (2048) of torch-fidelity, from a *local*
  weights file (``pt_inception-2015-12-05-*.pth`` / ``weights-inception-2015-12-05-*.pth``); this is the FID of
  the ADM evaluator and the papers, up to the resizing of small images to 299 px.
- :class:`ClassifierExtractor`: a classifier written by ``emov2 train`` (``best.safetensors`` + ``best.json``);
  features are its pooled pre-logits, its logits give the class accuracy. "FID-like": comparable only with
  numbers from the same classifier file.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.files import load_weights_only

__all__ = [
    "INCEPTION_WEIGHT_PATTERNS",
    "ClassifierExtractor",
    "FrechetReference",
    "InceptionExtractor",
    "class_accuracy",
    "evaluate_images",
    "find_inception_weights",
    "frechet_distance",
    "per_class_accuracy",
    "predict_classes",
]

INCEPTION_WEIGHT_PATTERNS = ("pt_inception-2015-12-05-*.pth", "weights-inception-2015-12-05-*.pth")


class _Features(nn.Module):
    """Adapter for torchmetrics: ``forward`` returns the extractor's features only; ``num_features`` is known."""

    def __init__(self, extractor: nn.Module) -> None:
        super().__init__()
        self.extractor = extractor
        self.num_features = int(extractor.num_features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.extractor.features(images)


def _batches(images: torch.Tensor, batch_size: int):
    for start in range(0, len(images), batch_size):
        yield images[start:start + batch_size]


class FrechetReference:
    """The real images' feature statistics, computed once (torchmetrics' ``FrechetInceptionDistance`` with
    ``reset_real_features=False``, float64); :meth:`distance` scores a set of uint8 (N, 3, H, W) samples."""

    def __init__(self, extractor: nn.Module, real: torch.Tensor, batch_size: int = 200) -> None:
        from torchmetrics.image.fid import FrechetInceptionDistance

        if len(real) < 2:
            raise ValueError(f"the Fréchet distance needs at least 2 real images, got {len(real)}")
        # sync_on_compute off: under torchrun every process holds all images, and torchmetrics would otherwise
        # sum the statistics of all processes (N counted world-size times, a biased covariance)
        self.metric = FrechetInceptionDistance(feature=_Features(extractor), reset_real_features=False,
                                               sync_on_compute=False)
        self.batch_size, self.num_real = batch_size, len(real)
        with torch.no_grad():
            for b in _batches(real, batch_size):
                self.metric.update(b, real=True)

    @torch.no_grad()
    def distance(self, fake: torch.Tensor) -> float:
        if len(fake) < 2:
            raise ValueError(f"the Fréchet distance needs at least 2 samples, got {len(fake)}")
        self.metric.reset()  # the fake statistics only
        for b in _batches(fake, self.batch_size):
            self.metric.update(b, real=False)
        return float(self.metric.compute())


def frechet_distance(extractor: nn.Module, fake: torch.Tensor, real: torch.Tensor, batch_size: int = 200) -> float:
    """Fréchet distance between the extractor's features of ``fake`` and ``real`` uint8 (N, 3, H, W) images,
    computed by torchmetrics' ``FrechetInceptionDistance`` (float64 statistics)."""
    if len(fake) < 2:
        raise ValueError(f"the Fréchet distance needs at least 2 images per set, got {len(fake)} and {len(real)}")
    return FrechetReference(extractor, real, batch_size).distance(fake)


@torch.no_grad()
def predict_classes(extractor: nn.Module, images: torch.Tensor, batch_size: int = 200) -> torch.Tensor:
    """The extractor's classifier's class for each uint8 image (N, 3, H, W): (N,) long, on the CPU."""
    return torch.cat([extractor.logits(x).argmax(1).cpu() for x in _batches(images, batch_size)])


def class_accuracy(extractor: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 200) -> float:
    """Fraction of uint8 images (N, 3, H, W) that the extractor's classifier assigns to ``labels`` (N,)."""
    return _accuracy(predict_classes(extractor, images, batch_size), labels)


def per_class_accuracy(preds: torch.Tensor, labels: torch.Tensor) -> list[float | None]:
    """For each class k in ``0..max(labels)``: the fraction of the predictions for images labelled k that are k
    (None for a class without images): which classes a generator still fails."""
    preds, labels = preds.cpu(), labels.cpu()
    out: list[float | None] = []
    for k in range(int(labels.max()) + 1 if len(labels) else 0):
        mask = labels == k
        out.append(float((preds[mask] == k).float().mean()) if mask.any() else None)
    return out


def _accuracy(preds: torch.Tensor, labels: torch.Tensor) -> float:
    return int((preds == labels.cpu()).sum()) / max(1, len(labels))


def evaluate_images(
    extractor: nn.Module, fake: torch.Tensor, fake_labels: torch.Tensor | None, real: torch.Tensor
) -> dict:
    """FID(-like) score between fake and real uint8 (N, 3, H, W) images, plus the class accuracy of the fakes
    (overall and per class, from one classifier pass) when the extractor classifies and labels are given; the
    extractor's description comes with the numbers."""
    out = dict(fid=frechet_distance(extractor, fake, real), num_fake=len(fake), num_real=len(real),
               **extractor.describe())
    if fake_labels is not None and getattr(extractor, "classifies", False):
        preds = predict_classes(extractor, fake)
        out["class_accuracy"] = _accuracy(preds, fake_labels)
        out["class_accuracy_per_class"] = per_class_accuracy(preds, fake_labels)
    return out


def _check_uint8(images: torch.Tensor) -> None:
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected uint8 RGB images (N, 3, H, W), got {images.dtype} {tuple(images.shape)}")


class ClassifierExtractor(nn.Module):
    """A classifier from ``emov2 train`` as feature extractor: uint8 (N, 3, H, W) -> pre-logits (N, F) / logits.

    Images are scaled to [0, 1], normalised with the run's mean/std and resized to its ``img_size`` (bilinear,
    antialiased: the resize ``emov2 train`` applies to Fashion-MNIST), as the classifier saw them in training.
    """

    name = "emov2-classifier"
    classifies = True

    def __init__(self, model: nn.Module, info: dict, source: str = "") -> None:
        super().__init__()
        self.model = model.eval()
        self.info = info
        self.source = source
        self.input_size = int(info.get("img_size", 32))
        self.register_buffer("mean", torch.tensor(info.get("mean", (0.5,) * 3), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(info.get("std", (0.5,) * 3), dtype=torch.float32).view(1, -1, 1, 1))
        self.num_features = int(model.num_features)

    @classmethod
    def from_artifact(cls, path: str | os.PathLike) -> ClassifierExtractor:
        """Load ``best.safetensors`` (+ ``best.json``) written by ``emov2 train`` (weights-only)."""
        from ..classification.inference import load_classifier

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"classifier {path} does not exist (train one with `emov2 train`, see "
                                    "docs/generation.md)")
        if path.suffix != ".safetensors":
            raise ValueError(f"--classifier expects the best.safetensors written by `emov2 train`, got {path}")
        model, info = load_classifier(path)
        return cls(model, info, str(path))

    def describe(self) -> dict:
        metrics = self.info.get("metrics", {})
        return dict(extractor=self.name, extractor_file=self.source, extractor_variant=self.info.get("variant"),
                    extractor_top1=metrics.get("top1"))

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        _check_uint8(images)
        x = (images.float() / 255.0 - self.mean) / self.std
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", antialias=True,
                              align_corners=False)
        return x

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(self.model.forward_features(self._prepare(images)), pre_logits=True).float()

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(self._prepare(images)).float()


def find_inception_weights() -> Path | None:
    """A local FID-Inception file in ``$TORCH_HOME/hub/checkpoints`` (pytorch-fid's or torch-fidelity's name)."""
    home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    for pattern in INCEPTION_WEIGHT_PATTERNS:
        hits = sorted((home / "hub" / "checkpoints").glob(pattern))
        if hits:
            return hits[0]
    return None


class InceptionExtractor(nn.Module):
    """TF-FID Inception-v3 2048-d pool features (torch-fidelity's network, as torchmetrics' FID uses it) from a
    local weights file; nothing is downloaded.

    torch-fidelity unpickles the file without the weights-only restriction; the file is first read weights-only
    here, so a file holding anything but tensors is refused before that.
    """

    name = "fid-inception-v3"
    classifies = False
    num_features = 2048

    def __init__(self, weights: str | os.PathLike) -> None:
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        load_weights_only(weights, "Inception weights")  # refuses pickled objects before torch-fidelity loads it
        self.source = str(weights)
        self.net = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                      feature_extractor_weights_path=str(weights))

    def describe(self) -> dict:
        return dict(extractor=self.name, extractor_file=self.source)

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        _check_uint8(images)
        return self.net(images)
