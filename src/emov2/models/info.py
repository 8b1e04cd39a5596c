"""torchvision-style metadata per variant: ``emov2.get_model_info('emov2_5m')``."""

from __future__ import annotations

import torch

from .emov2 import _OFFICIAL_FILES, EMOv2
from .variants import RECIPE, RECIPE_KD, TEST_VARIANTS, VARIANTS

__all__ = ["get_model_info"]


def get_model_info(name: str) -> dict:
    """Parameters, MACs, paper accuracy and recipe of a variant (as torchvision's ``Weights.meta``).

    ``num_params`` is exact (1000 classes); ``macs`` is this package's count at 224 px (conv and matmul
    multiply-accumulates plus fvcore's norm costs, the paper's convention; the single-window stage-4 attention
    counted once); ``paper`` holds the published numbers. ``metrics`` follows torchvision (``acc@1`` from the paper,
    ``acc@5`` from the last epoch of the official training logs, the paper gives none).
    """
    variant = VARIANTS.get(name) or TEST_VARIANTS.get(name)
    if variant is None:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(VARIANTS)} (and test_emov2)")
    with torch.device("meta"):
        num_params = sum(p.numel() for p in EMOv2(**variant.model_kwargs()).parameters())
    info = {
        "name": name,
        "num_params": num_params,
        "macs": variant.macs_224,
        "input_size": (3, 224, 224),
        "paper": {"id": "arXiv:2412.06674", "params_m": variant.paper_params_m, "macs_m": variant.paper_macs_m},
        "metrics": {},
        "recipe": None,
        "weights": {},
    }
    if variant.paper_top1 is not None:
        dp = variant.drop_path_rate
        info["metrics"]["ImageNet-1K"] = {"acc@1": variant.paper_top1, "acc@5": variant.log_top5}
        info["recipe"] = RECIPE.format(dp=dp)
        if variant.paper_top1_kd is not None:
            info["metrics"]["ImageNet-1K (KD)"] = {"acc@1": variant.paper_top1_kd, "acc@5": variant.log_top5_kd}
            info["recipe_kd"] = RECIPE_KD.format(dp=dp)
    info["weights"] = {tag: file for tag, file in _OFFICIAL_FILES.items() if tag.split(".")[0] == name}
    return info
