"""The kept weights: the best primary metric; a tie (a small validation set at 100 %) goes to the lower
evaluation loss instead of staying with the first, barely trained epoch."""

from __future__ import annotations

import json
from pathlib import Path

from classification.train_helpers import TINY, make_colour_folder  # tests/ is on sys.path

from emov2.cli.main import main


def test_ties_on_top1_go_to_the_lower_loss(tmp_path: Path) -> None:
    data = make_colour_folder(tmp_path / "data", per_class=8)
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--output", str(out), "--epochs", "10", "--no-model-ema", *TINY]) == 0
    evals = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in evals if r["kind"] == "eval"]
    best = json.loads((out / "best.json").read_text())
    top = max(r["top1"] for r in evals)
    expected = min((r for r in evals if r["top1"] == top), key=lambda r: r["loss"])
    first = next(r for r in evals if r["top1"] == top)
    assert expected["step"] != first["step"]  # the case under test: a tie, and a later epoch with a lower loss
    assert best["step"] == expected["step"] and best["metrics"]["loss"] == expected["loss"]
