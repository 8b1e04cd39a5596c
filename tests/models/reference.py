"""Helpers for the official-code reference in tests/data (made with github.com/zhangzjn/EMOv2@582a96f in float64).

The reference weights are not stored: ``seeded_weights`` regenerates them from the official key layout and a
seed, exactly as they were generated when the official model's logits were recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

DATA = Path(__file__).resolve().parent.parent / "data"


def official_keys() -> dict[str, dict[str, list[int]]]:
    """Official state-dict keys and shapes per variant (1000 classes)."""
    return json.loads((DATA / "official_keys.json").read_text())


def reference_cases() -> dict[str, dict]:
    return json.loads((DATA / "official_logits.json").read_text())["cases"]


def reference_logits() -> dict[str, torch.Tensor]:
    return load_file(str(DATA / "official_logits.safetensors"))


def seeded_weights(official_sd: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """Random float64 weights in official key order: BN variances in [0.5, 1.5), layer scales ~ N(0, 0.25),
    norm weights ~ 1 + N(0, 0.04), matrices ~ N(0, 1/fan_in), vectors ~ N(0, 0.01)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in official_sd.items():
        if v.dtype == torch.long:
            out[k] = v.clone()
        elif k.endswith("running_var"):
            out[k] = torch.rand(v.shape, generator=g, dtype=torch.float64) + 0.5
        elif k.endswith("gamma"):
            out[k] = torch.randn(v.shape, generator=g, dtype=torch.float64) * 0.5
        elif k.endswith("weight") and v.ndim == 1:
            out[k] = 1 + 0.2 * torch.randn(v.shape, generator=g, dtype=torch.float64)
        else:
            fan = v[0].numel() if v.ndim > 1 else 1
            scale = 1.0 if v.ndim > 1 else 0.1
            out[k] = torch.randn(v.shape, generator=g, dtype=torch.float64) / fan**0.5 * scale
    return out


def empty_official_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict in official layout (values are only placeholders for shapes/dtypes)."""
    from emov2.models.official import to_official

    return to_official(model.state_dict())
