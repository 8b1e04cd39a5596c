"""``emov2 <command>``: each command lives in its own module exposing ``register(subparsers)``.

A module's ``register`` adds a sub-parser and sets ``func`` (``args -> int`` exit code). User errors are
raised as :class:`UserError` (or ``ValueError``/``FileNotFoundError`` from the library) and printed as one
line ``emov2 <command>: error: ...`` with exit code 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys

# Command modules, in the order `emov2 --help` lists them.
COMMANDS = [
    "emov2.cli.info",
    "emov2.cli.convert",
    "emov2.cli.train",
    "emov2.cli.eval",
    "emov2.cli.predict",
    "emov2.cli.gen",
    "emov2.cli.bench",
    "emov2.cli.export",
    "emov2.cli.data",
    "emov2.cli.det",
    "emov2.cli.seg",
    "emov2.cli.video",
]


class UserError(Exception):
    """An error caused by the user's input: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emov2", description="EMOv2 vision backbones: info, weights and tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        importlib.import_module(module).register(sub)
    _no_abbreviations(parser)
    return parser


def _no_abbreviations(parser: argparse.ArgumentParser) -> None:
    """A flag is spelled out in full: an abbreviation (``--out`` for ``--output``) would be a second name."""
    parser.allow_abbrev = False
    parser.set_defaults(prog=parser.prog)  # the deepest parser's name wins: "emov2 video train" in error lines
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _no_abbreviations(child)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.command_line = shlex.join(["emov2", *argv])  # recorded in the artifacts a command writes
    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError, FileNotFoundError, NotADirectoryError) as e:
        print(f"{args.prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{args.prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
