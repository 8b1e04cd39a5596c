"""The paper's detection numbers (Tab. VIII-X and A2/A3; README): params (M), FLOPs (G), COCO box mAP.

Keys: arch -> backbone -> dict. SSDLite FLOPs are at 320x320 (``flops``) and 512x512 (``flops_512``);
RetinaNet and Mask R-CNN FLOPs are mmdet's at the 1333x800 test scale (``flops_input``).
"""

PAPER_DET: dict[str, dict[str, dict[str, float]]] = {
    "ssdlite": {
        "emov2_1m": dict(params=2.4, flops=0.7, map=22.3, flops_512=2.3, map_512=26.6),
        "emov2_2m": dict(params=3.3, flops=1.2, map=26.0, flops_512=4.0, map_512=30.7),
        "emov2_5m": dict(params=6.0, flops=2.4, map=29.6, flops_512=8.0, map_512=34.8),
        "emov2_20m": dict(params=21.2, flops=9.1, map=33.1, flops_512=30.3, map_512=38.3),
    },
    "retinanet": {
        "emov2_1m": dict(params=10.5, flops=142, map=36.9),
        "emov2_2m": dict(params=11.5, flops=146, map=39.3),
        "emov2_5m": dict(params=14.4, flops=158, map=41.5),
        "emov2_20m": dict(params=29.8, flops=220, map=43.8),
    },
    "maskrcnn": {
        "emov2_1m": dict(params=21.2, flops=165, map=37.1, mask_map=35.0),
        "emov2_2m": dict(params=22.1, flops=170, map=39.5, mask_map=36.9),
        "emov2_5m": dict(params=24.8, flops=181, map=42.3, mask_map=39.0),
        "emov2_20m": dict(params=39.8, flops=244, map=44.2, mask_map=40.6),
    },
}

# Input (H, W) at which the paper's FLOPs were counted.
FLOPS_INPUT = {"ssdlite": (320, 320), "retinanet": (800, 1333), "maskrcnn": (800, 1333)}
