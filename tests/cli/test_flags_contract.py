"""One command-line contract: a flag means one thing in every command, no old synonyms survive, and
docs/cli.md is the table the parsers generate."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from emov2.cli.main import build_parser
from emov2.cli.reference import FORBIDDEN, collect_flags, markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_a_flag_means_one_thing_everywhere() -> None:
    flags = collect_flags(build_parser())
    for opt, recs in flags.items():
        dests = {r["dest"] for r in recs}
        assert len(dests) == 1, f"{opt} sets {dests} in {[r['command'] for r in recs]}"
        switch = {r["kind"] == "switch" for r in recs}
        assert len(switch) == 1, f"{opt} is a switch in some commands and takes a value in others"
    by_dest = defaultdict(set)
    for opt, recs in flags.items():
        if not opt.startswith("--no-"):
            by_dest[recs[0]["dest"]].add(opt)
    synonyms = {d: opts for d, opts in by_dest.items() if len(opts) > 1}
    assert not synonyms, f"two names for one setting: {synonyms}"


def test_the_shared_names() -> None:
    flags = collect_flags(build_parser())
    assert not set(FORBIDDEN) & set(flags), f"old synonyms: {sorted(set(FORBIDDEN) & set(flags))}"
    for opt in ("--output", "--resume", "--img-size", "--batch-size", "--clip-grad", "--amp", "--device",
                "--threads", "--json", "--config"):
        assert opt in flags, opt
    assert all(r["kind"] == "switch" for r in flags["--json"])  # --json prints JSON; it never takes a path
    train_commands = {r["command"] for r in flags["--resume"]}
    assert {"train", "det train", "seg train"} <= train_commands


def test_docs_cli_md_is_current() -> None:
    assert DOCS.read_text() == markdown(build_parser()), "regenerate: python -m emov2.cli.reference > docs/cli.md"
