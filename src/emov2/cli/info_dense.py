"""``emov2 info --task det|seg``: parameter counts (and optionally FLOPs) of the dense models next to the paper's.

The HRF UNets (``--arch unet``: U-EMOv2 and the plain UNet-S5-D16) always show their MACs at 512x512: they are
counted on the meta device (no arithmetic runs), fvcore-style (norms included), as the paper's 228 / 204 G.
"""

from __future__ import annotations

import json

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

BACKBONES = ("emov2_1m", "emov2_2m", "emov2_5m", "emov2_20m")


def inference_params(model: nn.Module) -> int:
    """Parameters used at inference (a segmenter's auxiliary head is training-only)."""
    aux = getattr(model, "aux_head", None)
    n = sum(p.numel() for p in model.parameters())
    return n - (sum(p.numel() for p in aux.parameters()) if aux is not None else 0)


@torch.no_grad()
def dense_flops(model: nn.Module, task: str, hw: tuple[int, int]) -> float:
    """GFLOPs as the paper reports them (multiply-accumulates, i.e. FLOPs / 2) of one image at ``hw``.

    Detection counts backbone, neck and dense heads (SSDLite, RetinaNet) or the whole eval forward
    including the RoI heads on the model's test proposals (Mask R-CNN); post-processing is not counted.
    """
    model.eval()
    x = torch.zeros(1, 3, *hw)
    with FlopCounterMode(display=False) as counter:
        if task == "seg":
            model(x)
        elif hasattr(model, "roi_heads"):
            model.transform.min_size, model.transform.max_size = (min(hw),), max(hw)
            model(list(x))
        else:
            feats = list(model.backbone(x).values())
            model.head(feats)
    return counter.get_total_flops() / 2 / 1e9


def unet_macs(block: str, window_size: int = 8, hw: tuple[int, int] = (512, 512)) -> float:
    """GMACs (fvcore-style) of an HRF UNet segmenter at ``hw``, counted on the meta device in a second."""
    from ..models.complexity import count_macs
    from ..segmentation import create_segmenter

    with torch.device("meta"):
        model = create_segmenter("unet", block, 2, window_size=window_size, aux=False)
    return count_macs(model, (3, *hw), fvcore_style=True) / 1e9


def dense_table(task: str, archs: list[str] | None = None, backbones: tuple[str, ...] = BACKBONES,
                flops: bool = False) -> list[dict]:
    from ..detection import create_detector
    from ..detection.paper import FLOPS_INPUT, PAPER_DET
    from ..segmentation import create_segmenter
    from ..segmentation.paper import PAPER_SEG

    paper = PAPER_DET if task == "det" else PAPER_SEG
    rows = []
    for arch in archs or list(paper):
        if arch not in paper:
            raise ValueError(f"unknown {task} arch {arch!r}; known: {', '.join(paper)}")
        for b in (tuple(paper[arch]) if arch == "unet" else backbones):
            if arch == "unet":
                model = create_segmenter("unet", b, 2)
                hw = (512, 512)
            elif task == "det":
                model = create_detector(arch, b, 80)
                hw = FLOPS_INPUT[arch]
            else:
                model = create_segmenter(arch, b, 150)
                hw = (512, 512)
            n = inference_params(model)
            ref = paper[arch][b]
            row = dict(arch=arch, backbone=b, params=n, params_m=round(n / 1e6, 2), paper_params_m=ref["params"],
                       diff_pct=round(100 * (n / 1e6 / ref["params"] - 1), 1), paper_gflops=ref["flops"],
                       flops_input=f"{hw[0]}x{hw[1]}")
            if arch == "unet":
                row["gflops"] = round(unet_macs(b), 2)
            elif flops:
                row["gflops"] = round(dense_flops(model, task, hw), 2)
            rows.append(row)
    return rows


def print_dense_table(rows: list[dict], as_json: bool = False) -> None:
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    has_flops = any("gflops" in r for r in rows)
    print("| arch | backbone | params (M) | paper params (M) | diff | " + ("GFLOPs | " if has_flops else "")
          + "paper GFLOPs | at |")
    print("|---|---|---:|---:|---:|" + ("---:|" if has_flops else "") + "---:|---|")
    for r in rows:
        fl = (f"{r['gflops']:.2f} | " if "gflops" in r else "- | ") if has_flops else ""
        print(f"| {r['arch']} | {r['backbone']} | {r['params_m']:.2f} | {r['paper_params_m']:.1f} | "
              f"{r['diff_pct']:+.1f}% | {fl}{r['paper_gflops']:g} | {r['flops_input']} |")
    print("\nDetection: 80 COCO classes; segmentation: 150 ADE20K classes (unet: 2 HRF classes; i2rmb = U-EMOv2 with "
          "window 8, conv = UNet-S5-D16), auxiliary FCN head left out (training only), as in the paper's counts.")
