"""SegFormer on the engine resumes bit-exactly: stopped at step 2 of 4, then --resume, equals the straight run."""

import torch

from emov2.cli.main import main


def test_segformer_resume_is_bit_exact(tmp_path, rect_ade):
    common = ["seg", "train", "--arch", "segformer", "--backbone", "emov2_1m", "--data", str(rect_ade),
              "--num-classes", "3", "--iters", "4", "--batch-size", "2", "--crop", "64", "--scale", "80", "64",
              "--warmup-iters", "1", "--no-eval-first", "--eval-interval", "0", "--workers", "0", "--threads", "1",
              "--no-progress", "--model-ema", "--ema-decay", "0.9"]
    assert main([*common, "--output", str(tmp_path / "a")]) == 0
    assert main([*common, "--output", str(tmp_path / "b"), "--stop-after", "2"]) == 0
    assert main(["seg", "train", "--output", str(tmp_path / "b"), "--resume"]) == 0
    a, b = (torch.load(tmp_path / r / "last.pt", weights_only=True) for r in "ab")
    assert a["step"] == b["step"] == 4
    for part in ("model", "ema"):
        for k, v in a[part].items():
            assert torch.equal(v, b[part][k]), f"{part}.{k} differs after resume"
