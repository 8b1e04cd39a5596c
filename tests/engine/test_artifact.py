"""The artifact format: safetensors + sidecar round trip; last.pt as an artifact; pickles refused."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from emov2.engine.artifact import read_artifact, read_info, write_artifact
from emov2.engine.state import load_state, save_state
from emov2.utils.files import CheckpointError


def test_round_trip_and_atomic_files(tmp_path) -> None:
    sd = {"w": torch.randn(3, 4), "b": torch.arange(3)}
    path = write_artifact(sd, tmp_path / "best.safetensors", {"task": "cls", "arch": "x", "classes": ["a"]})
    loaded, info = read_artifact(path)
    assert set(loaded) == {"w", "b"} and all(torch.equal(loaded[k], sd[k]) for k in sd)
    assert info["task"] == "cls" and info["format"] == "emov2-artifact-1"
    assert json.loads((tmp_path / "best.json").read_text())["classes"] == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.json", "best.safetensors"]  # no temp files


def test_training_state_is_an_artifact(tmp_path) -> None:
    model, ema = {"w": torch.zeros(2)}, {"w": torch.ones(2)}
    save_state({"task": "cls", "info": {"task": "cls", "arch": "x"}, "model": model, "ema": ema}, tmp_path / "l.pt")
    assert load_state(tmp_path / "l.pt")["task"] == "cls"
    sd, info = read_artifact(tmp_path / "l.pt")
    assert torch.equal(sd["w"], ema["w"]) and info["weights"] == "ema"  # the EMA weights by default
    sd, info = read_artifact(tmp_path / "l.pt", ema=False)
    assert torch.equal(sd["w"], model["w"]) and info["weights"] == "model"


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickles_and_strangers_are_refused(tmp_path) -> None:
    evil = tmp_path / "last.pt"
    evil.write_bytes(pickle.dumps({"format": "emov2-state-1", "info": {"task": "cls"}, "model": _Evil()}))
    with pytest.raises(CheckpointError, match="refused: not a weights-only"):
        read_artifact(evil)
    with pytest.raises(CheckpointError, match="refused"):
        load_state(evil)
    torch.save({"model": {"w": torch.zeros(1)}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an emov2 artifact"):
        read_info(tmp_path / "other.pt")
    write_artifact({"w": torch.zeros(1)}, tmp_path / "a.safetensors", {"task": "cls"})
    (tmp_path / "a.json").unlink()
    with pytest.raises(CheckpointError, match="sidecar a.json is missing"):
        read_artifact(tmp_path / "a.safetensors")
