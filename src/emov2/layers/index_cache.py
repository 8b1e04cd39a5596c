"""Index tensors memoised per key (map size, layer settings, device), shared by the layers that gather.

Built outside any TorchScript trace, so a trace records them as constants; under ``torch.compile`` or
``torch.export`` they are built in the graph instead (the caller's sizes may be symbolic there).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

import torch

from .capture import exporting

__all__ = ["cached_index"]

T = TypeVar("T")
MAX_ENTRIES = 256
_CACHE: dict[Hashable, object] = {}


def cached_index(key: Hashable, build: Callable[[], T]) -> T:
    """``build()`` once per ``key`` (start the key with the caller's name: the cache is shared)."""
    if exporting() or torch.compiler.is_compiling():
        return build()
    if key not in _CACHE:
        if len(_CACHE) > MAX_ENTRIES:
            _CACHE.clear()
        tracing_state = torch._C._get_tracing_state()
        torch._C._set_tracing_state(None)
        try:
            _CACHE[key] = build()
        finally:
            torch._C._set_tracing_state(tracing_state)
    return _CACHE[key]
