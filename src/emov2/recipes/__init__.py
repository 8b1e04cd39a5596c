"""The paper's training recipes as YAML (``det.yaml``, ``seg.yaml``), one mapping per architecture."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

__all__ = ["load_recipe"]


def load_recipe(task: str, arch: str, override_file: str | os.PathLike | None = None) -> dict:
    """The recipe of ``arch`` for ``task`` (``det``/``seg``), updated by the keys of a user YAML file
    (either flat or with an ``arch:`` section)."""
    recipes = yaml.safe_load((Path(__file__).parent / f"{task}.yaml").read_text())
    if arch not in recipes:
        raise ValueError(f"no {task} recipe for {arch!r}; known: {', '.join(recipes)}")
    recipe = dict(recipes[arch])
    if override_file is not None:
        path = Path(override_file)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        try:
            user = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise ValueError(f"{path}: not valid YAML ({e})") from None
        if not isinstance(user, dict):
            raise ValueError(f"{path}: expected a mapping of recipe keys")
        user = user.get(arch, user) if isinstance(user.get(arch), dict) else user
        unknown = sorted(set(user) - set(recipe) - {"iters"})
        if unknown:
            raise ValueError(f"{path}: unknown recipe keys {unknown}; known: {sorted(recipe)}")
        recipe.update(user)
    return recipe
