"""The flags of every sub-command, collected from the parsers: ``docs/cli.md`` is generated from this
(``python -m emov2.cli.reference > docs/cli.md``) and a test checks that a flag means one thing everywhere."""

from __future__ import annotations

import argparse
from collections import defaultdict

__all__ = ["FORBIDDEN", "collect_flags", "markdown"]

# Names that once meant what another flag means now (the one name is on the right).
FORBIDDEN = {"--out": "--output", "--image-size": "--img-size", "--grad-clip": "--clip-grad",
             "--eval-every": "--eval-interval", "--no-ema": "--no-model-ema", "--warmup-epochs": "--warmup",
             "--no-eval-before": "--no-eval-first", "--onnxruntime": "--runtimes", "--no-eager": "--runtimes"}


def _commands(parser: argparse.ArgumentParser, prefix: str = ""):
    """(command path, parser) of every leaf sub-command."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix.strip(), parser
        return
    for name, child in subs[0].choices.items():
        yield from _commands(child, f"{prefix} {name}")


def _kind(action: argparse.Action) -> str:
    if isinstance(action, argparse.BooleanOptionalAction | argparse._StoreTrueAction | argparse._StoreFalseAction):
        return "switch"
    if action.nargs not in (None, 1):
        return f"{getattr(action.type, '__name__', 'value')} x{action.nargs}"
    return getattr(action.type, "__name__", "text") if action.type else "text"


def collect_flags(parser: argparse.ArgumentParser) -> dict[str, list[dict]]:
    """flag -> one record per command that has it: command, dest, kind, help."""
    flags: dict[str, list[dict]] = defaultdict(list)
    for command, p in _commands(parser):
        for action in p._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            for opt in action.option_strings:
                if opt.startswith("--"):
                    flags[opt].append({"command": command, "dest": action.dest, "kind": _kind(action),
                                       "help": (action.help or "").replace("|", "/")})
    return dict(flags)


def markdown(parser: argparse.ArgumentParser) -> str:
    flags = collect_flags(parser)
    commands = sorted({r["command"] for recs in flags.values() for r in recs})
    lines = ["# Command-line flags", "",
             "Generated from the parsers (`python -m emov2.cli.reference > docs/cli.md`; a test keeps it current). "
             "A flag means the same thing in every command that has it; the training commands (`train`, `det "
             "train`, `seg train`, `gen train`, `video train`) generate theirs from their settings dataclasses, "
             "and `--config RECIPE` sets any of them from a YAML file (flags given on the command line win). "
             "Switches have a `--no-` form.", "",
             f"Commands: {', '.join(f'`emov2 {c}`' for c in commands)}.", "",
             "| flag | kind | meaning | commands |", "|---|---|---|---|"]
    for opt in sorted(flags, key=lambda o: o.lstrip("-")):
        if opt.startswith("--no-") and f"--{opt[5:]}" in flags:
            continue  # the negative form of a switch
        recs = flags[opt]
        cmds = sorted({r["command"] for r in recs})
        where = "all training commands" if _is_training_everywhere(cmds, commands) else ", ".join(cmds)
        lines.append(f"| `{opt}` | {recs[0]['kind']} | {recs[0]['help']} | {where} |")
    return "\n".join(lines) + "\n"


def _is_training_everywhere(cmds: list[str], commands: list[str]) -> bool:
    train = [c for c in commands if c == "train" or c.endswith(" train")]
    return len(train) > 1 and set(train) <= set(cmds) and set(cmds) == set(train)


if __name__ == "__main__":
    from .main import build_parser

    print(markdown(build_parser()), end="")
