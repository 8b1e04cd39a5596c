"""DiT's evaluation sample batch (`gen sample --num-fid-samples N --npz OUT.npz`): format, class balance,
determinism, torchrun with 2 CPU processes giving the same file as 1 process, and `gen eval --npz`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("diffusers", reason="samplers use diffusers (the 'gen' extra)")

import emov2
from emov2.cli.main import main
from emov2.generation.npz import balanced_labels, read_npz

TINY = ["--hidden-size", "32", "--depth", "1", "--num-heads", "1"]


@pytest.fixture(scope="module")
def checkpoint(idx_folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("npzrun")
    assert main(["gen", "train", "--model", "dit_t_4", "--data", str(idx_folder), "--output", str(out), "--iters",
                 "2", "--batch-size", "8", "--lr", "1e-2", "--learn-sigma", "--schedule", "linear", "--prediction",
                 "eps", "--val-images", "8", "--eval-steps", "2", "--threads", "1", "--no-progress", *TINY]) == 0
    return out / "final.safetensors"


def _sample_args(ckpt: Path, npz: Path, *extra: str) -> list[str]:
    return ["gen", "sample", "--checkpoint", str(ckpt), "--num-fid-samples", "10", "--npz", str(npz),
            "--batch-size", "3", "--num-sampling-steps", "3", "--threads", "1", "--no-progress", "--device", "cpu",
            "--json", *extra]


def test_npz_format_balance_and_determinism(checkpoint, tmp_path):
    a, b, c = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"
    assert main(_sample_args(checkpoint, a)) == 0  # DiT's defaults: ddpm, learned sigma, cfg 1.5
    assert main(_sample_args(checkpoint, b)) == 0
    assert main(_sample_args(checkpoint, c, "--seed", "1")) == 0
    with np.load(a) as f:
        arr, labels = f["arr_0"], f["labels"]
    assert arr.dtype == np.uint8 and arr.shape == (10, 32, 32, 3)  # NHWC, grey repeated to RGB
    assert (arr[..., 0] == arr[..., 2]).all() and arr.std() > 0
    assert labels.tolist() == [i % 10 for i in range(10)]
    assert not a.with_name("a.npz.parts").exists()
    with np.load(b) as f:
        assert np.array_equal(f["arr_0"], arr)
    with np.load(c) as f:
        assert not np.array_equal(f["arr_0"], arr)
    images, lab = read_npz(a)
    assert images.shape == (10, 3, 32, 32) and torch.equal(lab, torch.from_numpy(labels))


def test_npz_matches_the_grid_sampler(checkpoint, tmp_path):
    """Chunk k of the batch is generate()'s batch k: same seeds, same pixels (DiT's uint8 conversion)."""
    from emov2.generation.sampling import generate, load_generator, to_uint8

    path = tmp_path / "s.npz"
    assert main(_sample_args(checkpoint, path, "--sampler", "ddim", "--cfg-scale", "1")) == 0
    model, diffusion, _, _ = load_generator(checkpoint)
    images = generate(model, diffusion, balanced_labels(10, 10), batch_size=3, sampler="ddim", steps=3)
    with np.load(path) as f:
        assert np.array_equal(f["arr_0"], to_uint8(images).permute(0, 2, 3, 1).numpy())


def test_balanced_labels():
    counts = torch.bincount(balanced_labels(25, 10), minlength=10)
    assert counts.tolist() == [3] * 5 + [2] * 5


def test_torchrun_two_processes_write_the_same_file(checkpoint, tmp_path):
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    assert main(_sample_args(checkpoint, one)) == 0
    src = str(Path(emov2.__file__).resolve().parents[1])
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "emov2", *_sample_args(checkpoint, two)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["processes"] == 2 and summary["sampler"] == "ddpm" and summary["steps"] == 3
    with np.load(one) as f1, np.load(two) as f2:
        assert np.array_equal(f1["arr_0"], f2["arr_0"]) and np.array_equal(f1["labels"], f2["labels"])


def test_eval_scores_an_npz(checkpoint, tmp_path, idx_folder, classifier_artifact):
    """`gen eval --npz`: the classifier extractor (an `emov2 train`-style artifact) on the sample batch."""
    clf = classifier_artifact[0]
    npz = tmp_path / "s.npz"
    assert main(_sample_args(checkpoint, npz)) == 0
    out = tmp_path / "eval.json"
    assert main(["gen", "eval", "--npz", str(npz), "--data", str(idx_folder), "--extractor", "classifier",
                 "--classifier", str(clf), "--output", str(out), "--no-progress"]) == 0
    res = json.loads(out.read_text())
    assert res["extractor"] == "emov2-classifier" and res["extractor_file"] == str(clf)
    assert res["num_fake"] == 10 and res["num_real"] == 32 and res["fid"] > 0 and 0 <= res["class_accuracy"] <= 1


def test_npz_user_errors(checkpoint, tmp_path, capsys):
    assert main(["gen", "sample", "--checkpoint", str(checkpoint), "--npz", str(tmp_path / "x.npz")]) == 2
    assert main(_sample_args(checkpoint, tmp_path / "x.png")) == 2
    bad = tmp_path / "bad.npz"
    np.savez(bad, arr_0=np.zeros((2, 8, 8), dtype=np.float32))
    assert main(["gen", "eval", "--npz", str(bad), "--classifier", str(tmp_path / "none.safetensors"),
                 "--extractor", "classifier"]) == 2
    err = capsys.readouterr().err
    assert "go together" in err and ".npz" in err
    assert err.count("emov2 gen sample: error:") == 2 and err.count("emov2 gen eval: error:") == 1
