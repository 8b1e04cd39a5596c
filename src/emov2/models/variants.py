"""The EMOv2 variants as data: official configs (paper Tab. IV/XVIII, code ``EMO2_*M_k5_hybrid``), paper numbers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    depths: tuple[int, int, int, int]
    embed_dims: tuple[int, int, int, int]
    exp_ratios: tuple[float, float, float, float]
    dim_heads: tuple[int, int, int, int]
    drop_path_rate: float
    paper_params_m: float  # paper / official fvcore numbers at 224 px
    paper_macs_m: float
    paper_top1: float
    paper_top1_kd: float | None = None
    extra: dict = field(default_factory=dict)

    def model_kwargs(self) -> dict:
        return dict(
            depths=self.depths, embed_dims=self.embed_dims, exp_ratios=self.exp_ratios,
            dim_heads=self.dim_heads, drop_path_rate=self.drop_path_rate,
        )


VARIANTS: dict[str, Variant] = {
    "emov2_1m": Variant((2, 2, 8, 3), (32, 48, 80, 180), (2.0, 2.5, 3.0, 3.5), (16, 16, 20, 20), 0.04036,
                        1.461, 285, 72.3, 73.5),
    "emov2_2m": Variant((3, 3, 9, 3), (32, 48, 120, 200), (2.0, 2.5, 3.0, 3.5), (16, 16, 20, 20), 0.05,
                        2.384, 487, 75.8, 76.7),
    "emov2_5m": Variant((3, 3, 9, 3), (48, 72, 160, 288), (2.0, 3.0, 4.0, 4.0), (16, 24, 32, 32), 0.05,
                        5.126, 1035, 79.4, 80.8),
    "emov2_20m": Variant((3, 3, 13, 3), (64, 128, 320, 448), (2.0, 3.0, 4.0, 4.0), (16, 32, 32, 32), 0.1,
                         20.195, 4000, 83.3),
    "emov2_50m": Variant((5, 8, 20, 7), (64, 128, 384, 512), (2.0, 3.0, 4.0, 4.0), (16, 32, 32, 32), 0.2,
                         49.816, 8800, 84.1),
}
