"""Append-only JSON-lines metric log (one dict per line) and its reader."""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["MetricsLog", "read_jsonl"]


class MetricsLog:
    """``log(**values)`` appends one JSON object per call to ``path`` (flushed at once)."""

    def __init__(self, path: str | os.PathLike, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def log(self, **values) -> None:
        if self.enabled:
            with open(self.path, "a") as f:
                f.write(json.dumps(values) + "\n")


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
