"""End to end through ``emov2 gen`` on the engine: train (artifacts, metrics, grids, FID-like evaluation with an
`emov2 train` classifier), bit-exact resume, sample, eval, latent mode, bf16, weights-only loading, DDP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("diffusers", reason="samplers use diffusers (the 'gen' extra)")

from emov2.cli.main import main

TINY = ["--hidden-size", "32", "--depth", "1", "--num-heads", "1"]
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _train_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["gen", "train", "--model", "d_emov2_t_4", "--data", str(data), "--output", str(out), "--iters", "4",
            "--batch-size", "8", "--eval-interval", "2", "--eval-steps", "2", "--val-images", "16",
            "--learn-sigma", "--schedule", "linear", "--prediction", "eps", "--ema-decay", "0.9", "--threads", "1",
            "--no-progress", *TINY, *extra]


@pytest.fixture(scope="module")
def trained(idx_folder, classifier_artifact, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("genrun")
    assert main(_train_args(idx_folder, out, "--classifier", str(classifier_artifact[0]), "--eval-samples", "10",
                            "--eval-real", "20", "--eval-cfg", "1", "2")) == 0
    return out


def test_train_writes_artifacts_metrics_and_grids(trained):
    rows = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["kind"] == "train"]
    evals = [r for r in rows if r["kind"] == "eval"]
    assert train and all(r["loss"] > 0 and "vb" in r and "mse" in r for r in train)  # learned sigma: hybrid loss
    assert [r["step"] for r in evals] == [2, 4] and all(r["weights"] == "ema" for r in evals)  # EMA only
    for r in evals:
        assert r["fid"] >= 0 and 0 <= r["class_acc"] <= 100 and "fid_cfg2" in r and "class_acc_cfg2" in r
        assert r["val_loss"] > 0 and "val_vb" in r
    assert (trained / "samples" / "step_0000002.png").is_file() and (trained / "samples_best.png").is_file()
    info = json.loads((trained / "best.json").read_text())
    assert info["task"] == "gen" and info["weights"] == "ema" and info["arch"] == "d_emov2_t_4"
    assert info["model_args"]["in_channels"] == 1 and info["model_args"]["hidden_size"] == 32
    assert info["diffusion"] == {"num_timesteps": 1000, "learn_sigma": True, "schedule": "linear",
                                 "prediction": "eps", "snr_gamma": 0.0}
    assert info["metrics"]["fid"] == min(r["fid"] for r in evals)  # the kept weights: the lowest FID-like score
    assert (trained / "curves.png").is_file() and (trained / "final.safetensors").is_file()


def test_resume_is_bit_exact(idx_folder, tmp_path):
    """Stopped at step 2 of 4, then --resume, equals the straight run: model, EMA and data order."""
    common = _train_args(idx_folder, tmp_path / "x", "--eval-interval", "0", "--no-eval-first", "--log-interval", "1")
    a, b = list(common), list(common)
    a[a.index("--output") + 1] = str(tmp_path / "a")
    b[b.index("--output") + 1] = str(tmp_path / "b")
    assert main(a) == 0
    assert main(b + ["--stop-after", "2"]) == 0
    assert torch.load(tmp_path / "b" / "last.pt", weights_only=True)["step"] == 2
    assert main(["gen", "train", "--output", str(tmp_path / "b"), "--resume", "--no-progress"]) == 0
    sa, sb = (torch.load(tmp_path / r / "last.pt", weights_only=True) for r in "ab")
    assert sa["step"] == sb["step"] == 4
    for part in ("model", "ema"):
        for k, v in sa[part].items():
            assert torch.equal(v, sb[part][k]), f"{part}.{k} differs after resume"
    rows = [[json.loads(x) for x in (tmp_path / r / "metrics.jsonl").read_text().splitlines()] for r in "ab"]
    losses = [[r["loss"] for r in rs if r["kind"] == "train"] for rs in rows]
    assert len(losses[0]) == 4 and losses[0] == losses[1][-4:]  # the same batches and noise after the resume


def test_sample_grid_from_the_artifact_and_last_pt(trained, tmp_path):
    from PIL import Image

    for ckpt in (trained / "best.safetensors", trained / "last.pt"):
        png = tmp_path / f"{ckpt.stem}.png"
        assert main(["gen", "sample", "--checkpoint", str(ckpt), "--classes", "0,3", "--per-class", "2",
                     "--num-sampling-steps", "2", "--sampler", "ddpm", "--cfg-scale", "2", "--output", str(png),
                     "--no-progress"]) == 0
        assert Image.open(png).size == (2 * 34 + 2, 2 * 34 + 2)  # 2x2 grid of 32 px with 2 px padding


def test_eval_with_an_emov2_train_classifier(trained, idx_folder, classifier_artifact, tmp_path, capsys):
    res_path = tmp_path / "eval.json"
    rc = main(["gen", "eval", "--checkpoint", str(trained / "final.safetensors"), "--data", str(idx_folder),
               "--extractor", "classifier", "--classifier", str(classifier_artifact[0]), "--num-samples", "10",
               "--num-real", "20", "--num-sampling-steps", "2", "--sampler", "dpm", "--output", str(res_path),
               "--no-progress", "--json"])
    assert rc == 0
    res = json.loads(res_path.read_text())
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == res
    assert res["extractor"] == "emov2-classifier" and res["num_fake"] == 10 and res["num_real"] == 20
    assert res["extractor_top1"] == 88.3 and res["weights"] == "ema" and res["step"] == 4
    assert res["fid"] >= 0 and 0 <= res["class_accuracy"] <= 1
    assert res["sampler"] == "dpm" and res["steps"] == 2 and res["cfg_scale"] == 1.0


def test_eval_repeats_the_training_evaluation(trained, idx_folder, classifier_artifact):
    """`gen eval` on the final EMA weights with the run's settings gives the FID-like score logged at step 4."""
    from emov2.generation.fid import ClassifierExtractor, evaluate_images
    from emov2.generation.npz import balanced_labels
    from emov2.generation.sampling import generate, load_generator, to_uint8
    from emov2.generation.task import SAMPLE_BATCH

    rows = [json.loads(x) for x in (trained / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in rows if r["kind"] == "eval"][-1]
    model, diffusion, info, _ = load_generator(trained / "final.safetensors")
    labels = balanced_labels(10, 10)
    fake = to_uint8(generate(model, diffusion, labels, seed=42, batch_size=SAMPLE_BATCH, sampler="dpm", steps=2,
                             cfg_scale=1.0))
    from emov2.generation.data import load_dataset

    real = load_dataset(str(idx_folder), 32, 1, split="test", limit=20)[0].tensors[0]
    res = evaluate_images(ClassifierExtractor.from_artifact(classifier_artifact[0]), fake, labels, to_uint8(real))
    assert res["fid"] == pytest.approx(logged["fid"], rel=1e-6)  # the log keeps 7 significant digits
    assert 100 * res["class_accuracy"] == pytest.approx(logged["class_acc"])
    assert logged["fid"] != logged["fid_cfg2"]  # the score sees the samples: guidance changes it


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_crafted_checkpoints_are_refused_not_run(trained, idx_folder, classifier_artifact, tmp_path, capsys):
    """A last.pt whose unpickling runs a shell command: sample, eval and train --resume refuse it, nothing runs."""
    marker = tmp_path / "pwned"
    run = tmp_path / "evil_run"
    run.mkdir()
    state = torch.load(trained / "last.pt", weights_only=True)
    state["config"]["payload"] = _Payload(str(marker))
    torch.save(state, run / "last.pt")
    bad = run / "last.pt"
    assert main(["gen", "sample", "--checkpoint", str(bad), "--output", str(tmp_path / "g.png"),
                 "--num-sampling-steps", "1"]) == 2
    assert main(["gen", "eval", "--checkpoint", str(bad), "--data", str(idx_folder), "--classifier",
                 str(classifier_artifact[0]), "--num-samples", "2", "--num-sampling-steps", "1"]) == 2
    assert main(["gen", "train", "--output", str(run), "--resume"]) == 2
    assert not marker.exists()
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all("error:" in line and "refused" in line for line in lines), lines


def test_user_errors_exit_2(trained, tmp_path, capsys):
    ckpt = str(trained / "best.safetensors")
    assert main(["gen", "train", "--model", "nope", "--output", str(tmp_path / "r")]) == 2
    assert main(["gen", "train", "--data", str(tmp_path / "nowhere"), "--output", str(tmp_path / "r")]) == 2
    assert main(["gen", "sample", "--checkpoint", str(tmp_path / "missing.pt"), "--output", "g.png"]) == 2
    assert main(["gen", "sample", "--checkpoint", ckpt, "--classes", "42", "--output", str(tmp_path / "g.png")]) == 2
    assert main(["gen", "eval", "--checkpoint", ckpt, "--extractor", "inception", "--data", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 5 and all(line.startswith(("emov2 gen train: error:", "emov2 gen sample: error:",
                                                  "emov2 gen eval: error:")) for line in err), err
    assert "unknown generator 'nope'" in err[0] and "nowhere" in err[1]


def test_latent_mode_with_local_autoencoder(tmp_path):
    """A tiny random AutoencoderKL saved locally: train 2 steps in its latent space, then sample decoded images."""
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
    assert main(["gen", "train", "--model", "dit_t_4", "--data", str(data), "--img-size", "16", "--vae", str(vae_dir),
                 "--output", str(out), "--iters", "2", "--batch-size", "4", "--val-images", "4", "--eval-steps", "2",
                 "--no-progress", *TINY]) == 0
    info = json.loads((out / "final.json").read_text())
    assert info["model_args"]["input_size"] == 8 and info["model_args"]["in_channels"] == 4
    assert info["classes"] == ["class0", "class1"] and info["vae"] == str(vae_dir)
    png = tmp_path / "latent.png"
    assert main(["gen", "sample", "--checkpoint", str(out / "final.safetensors"), "--per-class", "1",
                 "--num-sampling-steps", "2", "--output", str(png), "--no-progress"]) == 0
    assert Image.open(png).size == (16 + 4, 2 * 18 + 2)  # one column, two classes, decoded to 16 px


def test_train_bf16_autocast(idx_folder, tmp_path):
    out = tmp_path / "amp"
    assert main(["gen", "train", "--model", "dit_t_4", "--data", str(idx_folder), "--output", str(out), "--iters",
                 "2", "--batch-size", "4", "--amp", "bf16", "--val-images", "4", "--eval-steps", "2",
                 "--no-progress", *TINY]) == 0
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["config"]["amp"] == "bf16" and all(v.dtype == torch.float32 for v in state["model"].values())
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in rows if r["kind"] == "train")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ddp_two_processes(idx_folder, classifier_artifact, tmp_path):
    """torchrun with 2 CPU processes: one writer, the evaluation's samples drawn half by each process and equal
    to a one-process `gen eval` of the same weights."""
    out = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
           str(_free_port()), "-m", "emov2", *_train_args(idx_folder, out, "--classifier", str(classifier_artifact[0]),
                                                          "--eval-samples", "200", "--eval-real", "20",
                                                          "--eval-cfg", "1", "--eval-interval", "4")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["kind"] == "eval"] == [0, 4] or \
        [r["step"] for r in rows if r["kind"] == "eval"] == [4]
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["world_size"] == 2 and len(state["rng"]) == 2
    logged = [r for r in rows if r["kind"] == "eval"][-1]
    res = tmp_path / "eval.json"
    # 200 samples = 2 chunks of 100: rank 0 drew chunk 0, rank 1 chunk 1 (seeds 42 and 43)
    assert main(["gen", "eval", "--checkpoint", str(out / "final.safetensors"), "--data", str(idx_folder),
                 "--classifier", str(classifier_artifact[0]), "--num-samples", "200", "--num-real", "20",
                 "--num-sampling-steps", "2", "--sampler", "dpm", "--cfg-scale", "1", "--seed", "42",
                 "--batch-size", "100", "--output", str(res), "--no-progress"]) == 0
    assert json.loads(res.read_text())["fid"] == pytest.approx(logged["fid"], rel=1e-6)  # 7 digits logged
