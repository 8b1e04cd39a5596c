"""The EMOv2 variants as data: official configs (paper Tab. IV/XVIII, code ``EMO2_*M_k5_hybrid``), paper numbers,
and the tiny ``test_emov2`` architecture for fast tests (as timm's ``test_*`` models); V-EMOv2 (3-D) likewise."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RECIPE", "RECIPE_KD", "TEST_VARIANTS", "TEST_VIDEO_VARIANTS", "VARIANTS", "VIDEO_RECIPE", "VIDEO_VARIANTS",
           "Variant", "VideoVariant"]

RECIPE = ("ImageNet-1K, 300 epochs, batch 1024, AdamW (lr 3e-3, wd 0.05), 20 warm-up epochs then cosine, "
          "RandAugment rand-m9-mstd0.5-inc1, label smoothing 0.1, no mixup/cutmix, EMA 0.9998, drop path {dp}; "
          "the reported top-1 is the best evaluated epoch (official configs/emo2/emo2_224.py)")
RECIPE_KD = RECIPE + "; plus KD from TResNet-L-v2 (loss CE + 5.0 * KL at tau 1)"


@dataclass(frozen=True)
class Variant:
    depths: tuple[int, int, int, int]
    embed_dims: tuple[int, int, int, int]
    exp_ratios: tuple[float, float, float, float]
    dim_heads: tuple[int, int, int, int]
    drop_path_rate: float
    paper_params_m: float | None = None  # paper / official fvcore numbers at 224 px
    paper_macs_m: float | None = None
    paper_top1: float | None = None
    paper_top1_kd: float | None = None
    # top-5 of the last epoch in the official training logs (the paper reports no top-5)
    log_top5: float | None = None
    log_top5_kd: float | None = None
    macs_224: int | None = None  # count_macs(fvcore_style=True) at 224 px, checked by tests/models/test_models.py
    extra: dict = field(default_factory=dict)

    def model_kwargs(self) -> dict:
        return dict(
            depths=self.depths, embed_dims=self.embed_dims, exp_ratios=self.exp_ratios,
            dim_heads=self.dim_heads, drop_path_rate=self.drop_path_rate,
        )


VARIANTS: dict[str, Variant] = {
    "emov2_1m": Variant((2, 2, 8, 3), (32, 48, 80, 180), (2.0, 2.5, 3.0, 3.5), (16, 16, 20, 20), 0.04036,
                        1.461, 285, 72.3, 73.5, 90.772, 91.172, 280_867_092),
    "emov2_2m": Variant((3, 3, 9, 3), (32, 48, 120, 200), (2.0, 2.5, 3.0, 3.5), (16, 16, 20, 20), 0.05,
                        2.384, 487, 75.8, 76.7, 92.740, 92.968, 483_133_024),
    "emov2_5m": Variant((3, 3, 9, 3), (48, 72, 160, 288), (2.0, 3.0, 4.0, 4.0), (16, 24, 32, 32), 0.05,
                        5.126, 1035, 79.4, 80.8, 94.408, 95.020, 1_028_558_880),
    "emov2_20m": Variant((3, 3, 13, 3), (64, 128, 320, 448), (2.0, 3.0, 4.0, 4.0), (16, 32, 32, 32), 0.1,
                         20.195, 4000, 83.3, macs_224=4_006_408_896),
    "emov2_50m": Variant((5, 8, 20, 7), (64, 128, 384, 512), (2.0, 3.0, 4.0, 4.0), (16, 32, 32, 32), 0.2,
                         49.816, 8800, 84.1, macs_224=8_767_287_808),
}

# Not a paper model: one attention block in each of stages 3-4, for tests (random weights only).
TEST_VARIANTS: dict[str, Variant] = {
    "test_emov2": Variant((1, 1, 2, 2), (16, 24, 32, 48), (2.0, 2.0, 2.0, 2.0), (8, 8, 16, 16), 0.0),
}


# ---- V-EMOv2: the same architectures in 3-D (video, (B, 3, T, H, W)) ----------------------------------------------

VIDEO_RECIPE = ("Kinetics-400, 200 epochs, batch 256, AdamW (lr 1e-4, wd 0.05, none on norms and biases, layer "
                "scale decayed), clip 20, linear warm-up from 0.1x over 30 epochs then cosine (T_max 190) to 0.1x, "
                "UniformSample 4 frames, RandAugment m7 n4, 160 px, from the 2-D ImageNet weights (official log "
                "of V-EMOv2-5M)")


@dataclass(frozen=True)
class VideoVariant:
    """A V-EMOv2 model: the 2-D variant ``base`` with every conv 3-D (cubic kernels), windows ``window_size``
    over (T, H, W), the classifier's dropout ``drop_rate`` (the official video head: 0.5)."""

    base: str
    window_size: tuple[int, int, int] = (2, 5, 5)
    drop_rate: float = 0.5
    drop_path_rate: float | None = None  # None: the base variant's
    paper_params_m: float | None = None  # paper Tab. XIII, Kinetics-400 at 4 x 160^2 (400 classes)
    paper_gflops: float | None = None
    paper_top1: float | None = None
    params_k400: int | None = None  # exact count with the 400-class head (from the official training log)
    macs_4x160: int | None = None  # count_macs(fvcore_style=True) at (3, 4, 160, 160), checked by the tests

    def model_kwargs(self) -> dict:
        base = {**VARIANTS, **TEST_VARIANTS}[self.base].model_kwargs()
        if self.drop_path_rate is not None:
            base["drop_path_rate"] = self.drop_path_rate
        return dict(base, spatial_dims=3, window_size=self.window_size, drop_rate=self.drop_rate)


VIDEO_VARIANTS: dict[str, VideoVariant] = {
    "v_emov2_1m": VideoVariant("emov2_1m", macs_4x160=414_030_000),
    "v_emov2_2m": VideoVariant("emov2_2m", macs_4x160=677_240_400),
    "v_emov2_5m": VideoVariant("emov2_5m", drop_path_rate=0.05, paper_params_m=5.9, paper_gflops=1.3,
                               paper_top1=65.2, params_k400=5_983_568, macs_4x160=1_355_793_600),
    "v_emov2_20m": VideoVariant("emov2_20m", macs_4x160=4_698_729_600),
}

# Not a paper model: the tiny test_emov2 in 3-D, for tests.
TEST_VIDEO_VARIANTS: dict[str, VideoVariant] = {
    "test_v_emov2": VideoVariant("test_emov2", drop_rate=0.0),
}
