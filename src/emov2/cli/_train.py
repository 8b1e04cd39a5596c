"""What every training command shares: flags generated from its settings dataclass, ``--config`` recipes,
``--resume`` from the run's own settings, and the one-line summary at the end."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..engine.config import add_config_flags, build_config, given_settings, load_recipe

__all__ = ["add_train_flags", "print_summary", "resolve_settings"]


def add_train_flags(p: argparse.ArgumentParser, cls, *, exclude=()) -> None:
    """``--config`` plus one flag per field of ``cls``; ``--json`` prints the run's summary as JSON."""
    p.add_argument("--config", metavar="RECIPE",
                   help="YAML recipe (a path, or a shipped name): its settings become the defaults, flags override")
    p.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    add_config_flags(p, cls, exclude=exclude)


def _saved_settings(output: str) -> dict:
    from ..engine.state import load_state

    state = load_state(Path(output) / "last.pt")
    return {k: v for k, v in state.get("config", {}).items() if k not in ("resume", "stop_after")}


def resolve_settings(args: argparse.Namespace, cls, task: str, base: str | None = None,
                     base_under_config: bool = False, extra: dict | None = None):
    """Settings of a run: defaults <- ``base`` recipe <- ``--config`` <- flags given (``base`` is skipped when
    ``--config`` is given, unless ``base_under_config``: the det/seg architecture recipes).

    With ``--resume`` the run's own settings (from ``OUTPUT/last.pt``) replace the recipes, so ``--resume``
    alone continues a run; a flag given with it must agree with them (the engine checks).
    """
    given = {**(extra or {}), **given_settings(args, cls)}
    layers, sources = [], []
    if given.get("resume"):
        output = given.get("output") or next(f.default for f in dataclasses.fields(cls) if f.name == "output")
        layers.append(_saved_settings(output))
        sources.append(f"{output}/last.pt")
    else:
        if base is not None and (base_under_config or not args.config):
            layers.append(load_recipe(base, task))
            sources.append(f"recipe {base}")
        if args.config:
            layers.append(load_recipe(args.config, task))
            sources.append(f"--config {args.config}")
    layers.append(given)
    sources.append("command line")
    return build_config(cls, *layers, sources=sources)


def print_summary(summary: dict, task, as_json: bool, best_line=None) -> None:
    """Rank 0 prints the run's result: one line (or the summary as JSON). ``best_line(best, summary)`` words the
    kept weights' line for a task (default: metric, value, step, weights, speed, run folder)."""
    import json

    if not task.dist.is_main:
        return
    if as_json:
        print(json.dumps(summary, indent=1, default=str))
        return
    if summary["stopped"]:
        print(f"stopped at step {summary['steps']}/{summary['total_steps']}; continue with --resume")
        return
    b = summary["best"]
    if b and best_line is not None:
        print(best_line(b, summary))
        return
    best = (f"best {b['metric']} {b['value']:.4g} at step {b['step']} ({b['weights']} weights)" if b
            else "no evaluation")
    print(f"{best}; {summary['samples_per_s']:.1f} samples/s; {summary['wall_s']:.0f} s; {summary['output']}")
