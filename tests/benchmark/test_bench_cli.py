"""`emov2 bench` end to end with one tiny iteration: table, CSV, JSON and PNG are written and valid."""

import csv
import json

import pytest

from emov2.cli.main import main


def test_bench_infer_writes_outputs(tmp_path, capsys):
    rc = main(["bench", "--models", "emov2_1m,mobilenetv3_small_100", "--img-size", "32", "--reps", "2",
               "--calls-per-sample", "1", "--warmup-calls", "1", "--channels-last", "--runtimes", "eager,onnx",
               "--onnx-exporter", "torchscript",
               "--threads", "1", "--profile", "3", "--output", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "| emov2_1m | onnx |" in out and "| mobilenetv3_small_100 | channels_last |" in out
    rows = list(csv.DictReader(open(tmp_path / "bench.csv")))
    assert [(r["model"], r["config"]) for r in rows] == [
        (m, c) for m in ("emov2_1m", "mobilenetv3_small_100") for c in ("eager", "channels_last", "onnx")]
    for r in rows:
        assert float(r["p10_ms"]) <= float(r["median_ms"]) <= float(r["p90_ms"])
        assert int(r["reps"]) == 2 and float(r["params_m"]) > 1 and float(r["macs_m"]) > 0
    assert float(rows[0]["top1"]) == 72.3
    data = json.loads((tmp_path / "bench.json").read_text())
    assert len(data["rows"]) == 6 and data["meta"]["torch"] and data["meta"]["config"]["img_size"] == 32
    for r in data["rows"]:  # --profile 3: each runner's three most expensive operators, ranked
        shares = [op["share"] for op in r["top_ops"]]
        assert len(shares) == 3 and shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1 + 1e-9
    assert "### emov2_1m [onnx]: where the time goes" in out and "| `Conv` |" in out
    png = (tmp_path / "bench.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_bench_train_mode(tmp_path, capsys):
    rc = main(["bench", "--models", "emov2_1m", "--mode", "train", "--batch-size", "4", "--img-size", "32",
               "--reps", "1", "--calls-per-sample", "1", "--warmup-calls", "1", "--output", str(tmp_path)])
    assert rc == 0
    (row,) = csv.DictReader(open(tmp_path / "bench.csv"))
    assert row["mode"] == "train" and float(row["img_per_s"]) > 0


@pytest.mark.parametrize("argv, message", [
    (["--mode", "train", "--runtimes", "eager,onnx"], "inference only"),
    (["--runtimes", "eager,tflite"], "unknown tflite"),
    (["--runtimes", "onnx,onnx"], "names one twice"),
    (["--runtimes", ""], "nothing to measure"),
    (["--runtimes", "onnx", "--precision", "bf16"], "fp32"),
    (["--models", "emov2_1m,emov2_1m"], "listed twice"),
    (["--models", "not_a_model_xyz"], "unknown model"),
    (["--reps", "0"], ">= 1"),
])
def test_bench_user_errors(argv, message, capsys):
    assert main(["bench", "--models", "emov2_1m", "--img-size", "32"] + argv) == 2
    assert message in capsys.readouterr().err
