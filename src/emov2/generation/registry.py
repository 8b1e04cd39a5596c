"""Named generator configurations and ``create_generator``.

D-EMOv2 and DiT share widths, depths, heads and patch size at each size (S/B/L/XL as DiT); the ``t``
configs are CPU-sized for tests, the ``fm`` pair is the embedded Fashion-MNIST comparison (docs/generation.md).
``released_params`` are the counts printed in the D-EMOv2 training logs (ImageNet 256², 32x32x4 latents, 1000
classes, learned sigma) and DiT's paper.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from .dit import DiffusionTransformer

__all__ = ["GENERATORS", "GeneratorConfig", "create_generator", "generator_from_info", "list_generators"]


@dataclass(frozen=True)
class GeneratorConfig:
    """One named generator: skeleton sizes plus block settings."""

    hidden_size: int
    depth: int
    num_heads: int
    patch_size: int
    block: str
    released_params: int | None = None
    block_kwargs: dict = field(default_factory=dict)

    def model_kwargs(self) -> dict:
        kw = dict(hidden_size=self.hidden_size, depth=self.depth, num_heads=self.num_heads,
                  patch_size=self.patch_size, block=self.block, **self.block_kwargs)
        if self.block == "demo":
            # Inferred from the released counts: the final LayerNorm is affine (+2D), see docs/generation.md.
            kw.setdefault("final_norm_affine", True)
        return kw


def _demo(hidden: int, depth: int, heads: int, patch: int, released: int | None = None, window: int = 8):
    return GeneratorConfig(hidden, depth, heads, patch, "demo", released, dict(window_size=window))


def _dit(hidden: int, depth: int, heads: int, patch: int, released: int | None = None):
    return GeneratorConfig(hidden, depth, heads, patch, "dit", released)


GENERATORS: dict[str, GeneratorConfig] = {
    "d_emov2_s_2": _demo(384, 12, 6, 2, 24_596_000),
    "d_emov2_b_2": _demo(768, 12, 12, 2, 96_082_976),
    "d_emov2_l_2": _demo(1024, 24, 16, 2, 334_831_648),
    "d_emov2_xl_2": _demo(1152, 28, 16, 2, 492_692_000),
    "d_emov2_t_4": _demo(96, 4, 3, 4, window=4),
    # Embedded Fashion-MNIST pair (32 px pixels, patch 4 -> an 8x8 token grid; window 4 gives 2x2 remote and 2x2
    # close windows, as window 8 does on the 16x16 grid of 256 px ImageNet latents). Sized for ~45 min of CPU
    # training per model: 0.58M vs 0.73M parameters (1 channel, 10 classes, no learned sigma).
    "d_emov2_fm": _demo(96, 4, 3, 4, window=4),
    "dit_s_2": _dit(384, 12, 6, 2, 33_000_000),
    "dit_b_2": _dit(768, 12, 12, 2, 130_000_000),
    "dit_l_2": _dit(1024, 24, 16, 2, 458_000_000),
    "dit_xl_2": _dit(1152, 28, 16, 2, 675_000_000),
    "dit_t_4": _dit(96, 4, 3, 4),
    "dit_fm": _dit(96, 4, 3, 4),
}


def list_generators(pattern: str = "*") -> list[str]:
    """Generator names matching a wildcard pattern."""
    return [name for name in GENERATORS if fnmatch.fnmatch(name, pattern)]


def create_generator(
    name: str,
    input_size: int = 32,
    in_channels: int = 4,
    num_classes: int = 1000,
    learn_sigma: bool = True,
    **kwargs,
) -> DiffusionTransformer:
    """Build a named generator; ``kwargs`` override the configuration (e.g. ``window_size``, ``depth``).

    Forward is ``model(x, t, y)``: x (N, in_channels, input_size, input_size), t (N,), y (N,) ->
    (N, 2 in_channels or in_channels, input_size, input_size).
    """
    if name not in GENERATORS:
        raise ValueError(f"unknown generator {name!r}; known: {', '.join(GENERATORS)}")
    kw = GENERATORS[name].model_kwargs()
    kw.update(kwargs)
    return DiffusionTransformer(
        input_size=input_size, in_channels=in_channels, num_classes=num_classes, learn_sigma=learn_sigma, **kw
    )


def generator_from_info(info: dict) -> DiffusionTransformer:
    """An untrained generator with the architecture a generation artifact's sidecar describes (``model_args``)."""
    args = dict(info["model_args"])
    return create_generator(args.pop("name"), **args)
