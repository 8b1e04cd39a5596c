"""Sample metrics: torchmetrics' Fréchet distance against a hand computation (stand-in extractor), the classifier
extractor on an `emov2 train` artifact, class accuracy, and the FID-Inception path (weights-only file check, a
random local weights file)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("torchmetrics", reason="FID uses torchmetrics (the 'gen' extra)")

from emov2.generation.fid import (
    ClassifierExtractor,
    InceptionExtractor,
    class_accuracy,
    evaluate_images,
    find_inception_weights,
    frechet_distance,
)
from emov2.utils.files import CheckpointError


class StandIn(nn.Module):
    """A tiny fixed feature network: uint8 (N, 3, H, W) -> (N, 6); logits = the first 3 features."""

    name = "stand-in"
    classifies = True
    num_features = 6

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 6, 3, stride=2)

    def describe(self) -> dict:
        return dict(extractor=self.name)

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(images.float() / 127.5 - 1)).mean(dim=(2, 3))

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)[:, :3]


def _images(n: int, low: int, high: int, seed: int) -> torch.Tensor:
    return torch.randint(low, high, (n, 3, 8, 8), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def _hand_frechet(f1: np.ndarray, f2: np.ndarray) -> float:
    from scipy import linalg

    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_frechet_distance_equals_hand_computation():
    ext = StandIn()
    real, fake = _images(300, 0, 256, 1), _images(200, 40, 200, 2)
    expected = _hand_frechet(ext.features(fake).double().numpy(), ext.features(real).double().numpy())
    got = frechet_distance(ext, fake, real, batch_size=64)  # batches must not change the statistics
    assert expected > 1e-3
    assert got == pytest.approx(expected, rel=1e-4)
    assert abs(frechet_distance(ext, real, real)) < 1e-5
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(ext, fake[:1], real)


def test_class_accuracy_and_evaluate_images():
    ext = StandIn()
    images = _images(50, 0, 256, 3)
    labels = torch.arange(50) % 3
    expected = (ext.logits(images).argmax(1) == labels).float().mean().item()
    assert class_accuracy(ext, images, labels, batch_size=7) == pytest.approx(expected)
    res = evaluate_images(ext, images, labels, _images(40, 0, 256, 4))
    assert res["extractor"] == "stand-in" and res["num_fake"] == 50 and res["num_real"] == 40
    assert res["class_accuracy"] == pytest.approx(expected) and res["fid"] > 0
    assert "class_accuracy" not in evaluate_images(ext, images, None, images)
    preds = ext.logits(images).argmax(1)
    per_class = [(preds[labels == k] == k).float().mean().item() for k in range(3)]
    assert res["class_accuracy_per_class"] == pytest.approx(per_class)
    assert len(set(per_class)) > 1  # the stand-in does not get every class equally right


def test_classifier_extractor_loads_an_emov2_train_artifact(classifier_artifact):
    path, model = classifier_artifact
    ext = ClassifierExtractor.from_artifact(path)
    images = torch.randint(0, 256, (4, 3, 28, 28), generator=torch.Generator().manual_seed(5), dtype=torch.uint8)
    x = (images.float() / 255 - 0.286) / 0.353
    x = torch.nn.functional.interpolate(x, size=(32, 32), mode="bilinear", antialias=True, align_corners=False)
    with torch.no_grad():
        ref = model(x)
    torch.testing.assert_close(ext.logits(images), ref, rtol=1e-4, atol=1e-4)
    assert ref.std(0).min() > 0  # a classifier whose logits depend on the image
    assert ext.features(images).shape == (4, model.num_features)
    d = ext.describe()
    assert d["extractor"] == "emov2-classifier" and d["extractor_file"] == str(path) and d["extractor_top1"] == 88.3


def test_classifier_extractor_rejects_other_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="emov2 train"):
        ClassifierExtractor.from_artifact(tmp_path / "missing.safetensors")
    (tmp_path / "clf.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match="best.safetensors"):
        ClassifierExtractor.from_artifact(tmp_path / "clf.pt")


def test_extractors_take_uint8_rgb_only(classifier_artifact):
    ext = ClassifierExtractor.from_artifact(classifier_artifact[0])
    with pytest.raises(ValueError, match="uint8"):
        ext.features(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="uint8"):
        ext.logits(torch.zeros(1, 1, 32, 32, dtype=torch.uint8))


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_inception_weights_are_read_weights_only_first(tmp_path, monkeypatch):
    """A crafted .pth (pickled os.system call) is refused before torch-fidelity's unsafe torch.load sees it."""
    bad = tmp_path / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
    bad.parent.mkdir(parents=True)
    marker = tmp_path / "pwned"
    torch.save({"w": _Payload(str(marker))}, bad)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert find_inception_weights() == bad
    with pytest.raises(CheckpointError, match="weights-only"):
        InceptionExtractor(bad)
    assert not marker.exists()


def test_inception_extractor_on_a_random_local_weights_file(tmp_path):
    """The FID-Inception path end to end (torch-fidelity's network through torchmetrics) with random weights."""
    pytest.importorskip("torch_fidelity")
    from unittest import mock

    from torch_fidelity import feature_extractor_inceptionv3 as fe

    with mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: {}), \
            mock.patch.object(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None):
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    weights = tmp_path / "pt_inception-2015-12-05-random.pth"
    torch.save(net.state_dict(), weights)
    ext = InceptionExtractor(weights)
    images = _images(2, 0, 256, 6).repeat(1, 1, 4, 4)  # (2, 3, 32, 32)
    feats = ext.features(images)
    assert feats.shape == (2, 2048) and torch.isfinite(feats).all() and feats.std() > 0
    res = evaluate_images(ext, images, torch.zeros(2, dtype=torch.long), images.flip(0))
    assert res["extractor"] == "fid-inception-v3" and "class_accuracy" not in res and abs(res["fid"]) < 1e-2
