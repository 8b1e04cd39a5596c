"""End to end: ``emov2 train`` on a folder holding every bad file at once finishes and reports the skipped count."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from classification.train_helpers import TINY  # tests/ is on sys.path (rootdir-relative packages)

from emov2.cli.main import main
from emov2.data import folder

from .bad_folder import CONVERTED, SKIPPED, make_bad_folder


def test_train_on_every_bad_file_together(tmp_path: Path, capsys, caplog, monkeypatch) -> None:
    monkeypatch.setattr(folder, "_named", set())
    caplog.set_level(logging.WARNING, folder.__name__)
    # 5 good images per class + 6 awkward-but-readable + 3 unreadable = 24 = 3 full batches of 8 (all seen)
    ds = make_bad_folder(tmp_path / "ds", per_class=5)
    out = tmp_path / "out"
    assert main(["train", "--data", str(ds), "--output", str(out), "--epochs", "1", *TINY]) == 0
    printed = capsys.readouterr()
    assert f"epoch 1: skipped {len(SKIPPED)} unreadable sample(s)" in printed.out + printed.err
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    (record,) = [r for r in rows if r["kind"] == "epoch"]
    assert record["skipped"] == len(SKIPPED) and record["samples"] == 3 * 5 + len(CONVERTED)
    logged = [r.getMessage() for r in caplog.records if r.name == folder.__name__]
    for name in SKIPPED:  # each unreadable file named once, whatever the number of passes over it
        assert sum(f"red apple/{name}: " in m for m in logged) == 1, name
    assert sum(m.startswith("ignored 4 file(s)") for m in logged) == 1
    assert sum(m.startswith("skipped folder") for m in logged) == 2
    info = json.loads((out / "best.json").read_text())
    assert info["classes"] == ["café", "green", "red apple"]
