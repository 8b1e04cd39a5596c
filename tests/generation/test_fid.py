"""FID maths and the classifier feature extractor."""

from __future__ import annotations

import torch

from emov2.generation.fid import (
    ClassifierExtractor,
    evaluate_images,
    feature_stats,
    frechet_distance,
    train_classifier,
)


def test_frechet_distance_closed_forms():
    torch.manual_seed(0)
    f = torch.randn(200, 6)
    mu, sigma = feature_stats(f)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-8
    # diagonal covariances: ||mu1 - mu2||^2 + sum (sqrt(a) - sqrt(b))^2
    a, b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 1.0])
    mu1, mu2 = torch.zeros(3), torch.tensor([1.0, 0.0, 2.0])
    expected = 5.0 + ((a.sqrt() - b.sqrt()) ** 2).sum().item()
    assert abs(frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) - expected) < 1e-6


def test_classifier_extractor_roundtrip(tmp_path):
    x = torch.rand(16, 1, 32, 32) * 2 - 1
    y = torch.arange(16) % 10
    model, ckpt = train_classifier(x, y, epochs=0.5, batch_size=8, progress=False)
    torch.save(ckpt, tmp_path / "clf.pt")
    ext = ClassifierExtractor.from_checkpoint(tmp_path / "clf.pt")
    feats, logits = ext(x[:4])
    assert feats.shape == (4, model.num_features) and logits.shape == (4, 10)
    torch.testing.assert_close(logits, model(x[:4]))
    res = evaluate_images(ext, x[:8], y[:8], x[8:])
    assert res["extractor"] == "emov2-classifier" and 0 <= res["class_accuracy"] <= 1 and res["fid"] >= 0
