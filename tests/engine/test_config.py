"""Flags generated from settings dataclasses; recipes <- flags resolution; unknown keys and bad values."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from emov2.engine.config import EngineConfig, add_config_flags, build_config, given_settings, setting


@dataclass
class Toy(EngineConfig):
    name: str = setting("a", "a name")
    size: int = setting(8, "a size")
    ratio: tuple[float, float] = setting((0.5, 2.0), "a range")
    limit: float | None = setting(None, "an optional number")
    hidden: dict = setting({}, "recipe only", cli=False)


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_config_flags(p, Toy)
    return p.parse_args(argv)


def test_one_flag_per_field_and_only_given_ones_are_set() -> None:
    args = _parse(["--size", "3", "--no-model-ema", "--ratio", "1", "4", "--limit", "none", "--clip-grad", "2.5"])
    assert given_settings(args, Toy) == {"size": 3, "model_ema": False, "ratio": [1.0, 4.0], "limit": None,
                                         "clip_grad": 2.5}
    assert given_settings(_parse([]), Toy) == {}  # defaults are not "given": a recipe value survives
    with pytest.raises(SystemExit):
        _parse(["--hidden", "x"])  # recipe-only settings have no flag
    with pytest.raises(SystemExit):
        _parse(["--amp", "fp8"])  # choices are enforced


def test_layers_resolve_in_order() -> None:
    recipe = {"size": 5, "name": "recipe", "ratio": [0.1, 0.2]}
    cfg = build_config(Toy, recipe, given_settings(_parse(["--size", "7"]), Toy))
    assert (cfg.size, cfg.name, cfg.ratio) == (7, "recipe", (0.1, 0.2))  # flag > recipe > default
    assert isinstance(cfg.ratio, tuple) and cfg.to_dict()["ratio"] == [0.1, 0.2]


def test_unknown_and_invalid_settings_name_their_source() -> None:
    with pytest.raises(ValueError, match=r"r\.yaml: unknown setting\(s\) learning_rate"):
        build_config(Toy, {"learning_rate": 1.0}, sources=["r.yaml"])
    with pytest.raises(ValueError, match="r.yaml: size = 2.5 is not a valid int"):
        build_config(Toy, {"size": 2.5}, sources=["r.yaml"])
    assert build_config(Toy, {"size": 4.0}).size == 4  # an integral float from YAML is fine
    assert build_config(Toy, {"model_ema": "yes"}).model_ema is True
