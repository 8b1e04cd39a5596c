"""End to end through ``emov2 gen``: train (+ resume, sample grids), sample, eval with an `emov2 train` classifier;
latent mode; weights-only checkpoint loading."""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("diffusers", reason="samplers use diffusers (the 'gen' extra)")

from emov2.cli.main import main

TINY = '{"hidden_size": 32, "depth": 1, "num_heads": 1}'


@pytest.fixture(scope="module")
def trained(idx_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    args = ["gen", "train", "--model", "d_emov2_t_4", "--data", str(idx_folder), "--output", str(out),
            "--steps", "2", "--batch-size", "8", "--log-every", "1", "--sample-every", "2", "--sample-steps", "2",
            "--ckpt-every", "2", "--model-kwargs", TINY, "--no-progress", "--ema-decay", "0.9"]
    assert main(args) == 0
    return out, args


def test_train_writes_checkpoint_log_and_grid(trained):
    out, _ = trained
    ckpt = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["step"] == 2 and set(ckpt) >= {"model", "ema", "opt", "model_args", "config"}
    assert ckpt["model_args"]["in_channels"] == 1 and ckpt["model_args"]["num_classes"] == 10
    assert (out / "checkpoints" / "step_0000002.pt").exists()
    assert (out / "samples" / "step_0000002.png").exists()
    logs = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logs] == [1, 2] and all(r["loss"] > 0 for r in logs)
    assert "vb" in logs[0]  # learned sigma: hybrid loss


def test_resume_continues_from_last(trained):
    out, args = trained
    args = list(args)
    args[args.index("--steps") + 1] = "3"
    assert main(args + ["--resume", "auto", "--sample-every", "0"]) == 0
    ckpt = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["step"] == 3 and [h["step"] for h in ckpt["history"]] == [1, 2, 3]


def test_sample_grid(trained, tmp_path):
    out, _ = trained
    png = tmp_path / "grid.png"
    rc = main(["gen", "sample", "--checkpoint", str(out / "checkpoints" / "last.pt"), "--classes", "0,3",
               "--per-class", "2", "--steps", "2", "--sampler", "ddpm", "--cfg-scale", "2", "--out", str(png),
               "--no-progress"])
    assert rc == 0
    from PIL import Image

    assert Image.open(png).size == (2 * 34 + 2, 2 * 34 + 2)  # 2x2 grid of 32 px with 2 px padding


@pytest.fixture(scope="module")
def classifier(classifier_artifact):
    return classifier_artifact[0]


def test_eval_with_an_emov2_train_classifier(trained, idx_folder, classifier, tmp_path):
    out, _ = trained
    res_path = tmp_path / "eval.json"
    rc = main(["gen", "eval", "--checkpoint", str(out / "checkpoints" / "last.pt"), "--data", str(idx_folder),
               "--extractor", "classifier", "--classifier", str(classifier), "--num-samples", "10", "--num-real",
               "20", "--steps", "2", "--sampler", "dpm", "--json", str(res_path), "--no-progress"])
    assert rc == 0
    res = json.loads(res_path.read_text())
    assert res["extractor"] == "emov2-classifier" and res["num_fake"] == 10 and res["num_real"] == 20
    assert res["extractor_file"] == str(classifier) and res["extractor_top1"] == 88.3
    assert res["fid"] >= 0 and 0 <= res["class_accuracy"] <= 1
    assert res["sampler"] == "dpm" and res["steps"] == 2 and res["cfg_scale"] == 1.0 and res["step"] == 3


def test_train_classifier_command_is_gone():
    with pytest.raises(SystemExit):
        main(["gen", "train-classifier", "--output", "x.pt"])


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_crafted_checkpoints_are_refused_not_run(trained, idx_folder, classifier, tmp_path, capsys):
    """A .pt whose unpickling runs a shell command: sample, eval and train --resume refuse it, nothing runs."""
    out, args = trained
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pt"
    ckpt = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    ckpt["config"]["payload"] = _Payload(str(marker))
    torch.save(ckpt, bad)
    assert main(["gen", "sample", "--checkpoint", str(bad), "--out", str(tmp_path / "g.png"), "--steps", "1"]) == 2
    assert main(["gen", "eval", "--checkpoint", str(bad), "--data", str(idx_folder), "--classifier",
                 str(classifier), "--num-samples", "2", "--steps", "1"]) == 2
    resume = list(args)
    resume[resume.index("--output") + 1] = str(tmp_path / "resumed")
    assert main(resume + ["--resume", str(bad)]) == 2
    assert not marker.exists()
    err = capsys.readouterr().err
    assert err.count("refused: not a weights-only generator checkpoint") == 3


def test_user_errors_exit_2(trained, tmp_path, capsys):
    out, _ = trained
    ckpt = str(out / "checkpoints" / "last.pt")
    assert main(["gen", "train", "--model", "nope", "--data", "x", "--output", str(tmp_path)]) == 2
    assert main(["gen", "sample", "--checkpoint", str(tmp_path / "missing.pt"), "--out", "g.png"]) == 2
    assert main(["gen", "sample", "--checkpoint", ckpt, "--classes", "42", "--out", str(tmp_path / "g.png")]) == 2
    assert main(["gen", "eval", "--checkpoint", ckpt, "--extractor", "inception", "--data", "x"]) == 2
    assert main(["gen", "eval", "--checkpoint", ckpt, "--classifier", str(tmp_path / "clf.pt"),
                 "--extractor", "classifier"]) == 2
    err = capsys.readouterr().err
    assert err.count("emov2 gen: error:") == 5


def test_latent_mode_with_local_autoencoder(tmp_path):
    """A tiny random AutoencoderKL saved locally: train 1 step in its latent space, then sample decoded images."""
    from diffusers import AutoencoderKL
    from PIL import Image

    vae_dir = tmp_path / "vae"
    AutoencoderKL(block_out_channels=(8, 8), down_block_types=("DownEncoderBlock2D",) * 2,
                  up_block_types=("UpDecoderBlock2D",) * 2, layers_per_block=1, latent_channels=4,
                  norm_num_groups=4).save_pretrained(vae_dir)
    data = tmp_path / "images"
    for k in range(2):
        (data / f"class{k}").mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (20, 20), (80 * k, 40 * i, 100)).save(data / f"class{k}" / f"{i}.png")
    out = tmp_path / "run"
    assert main(["gen", "train", "--model", "dit_t_4", "--data", str(data), "--image-size", "16", "--vae",
                 str(vae_dir), "--output", str(out), "--steps", "1", "--batch-size", "4", "--model-kwargs", TINY,
                 "--no-progress"]) == 0
    ckpt = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["model_args"]["input_size"] == 8 and ckpt["model_args"]["in_channels"] == 4
    png = tmp_path / "latent.png"
    assert main(["gen", "sample", "--checkpoint", str(out / "checkpoints" / "last.pt"), "--per-class", "1",
                 "--steps", "2", "--out", str(png), "--no-progress"]) == 0
    assert Image.open(png).size == (16 + 4, 2 * 18 + 2)  # one column, two classes, decoded to 16 px


def test_train_bf16_autocast(idx_folder, tmp_path):
    out = tmp_path / "amp"
    assert main(["gen", "train", "--model", "dit_t_4", "--data", str(idx_folder), "--output", str(out), "--steps",
                 "1", "--batch-size", "4", "--amp", "bf16", "--model-kwargs", TINY, "--no-progress"]) == 0
    ckpt = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["config"]["amp"] == "bf16" and all(v.dtype == torch.float32 for v in ckpt["model"].values())
