"""``make demo``: the model table, then EMOv2 classifying real photos (scikit-image's CC0 images).

No ImageNet weights can be downloaded here, so the classifier is randomly initialised and says so; the point is
the whole path: preprocessing from ``pretrained_cfg``, fused inference, and top-5 output.
"""

from __future__ import annotations

import time

import torch

from .cli.info import model_table


def main() -> None:
    print("EMOv2 variants (measured here):\n")
    print("| model | params | MACs @224 | paper top-1 |")
    print("|---|---:|---:|---:|")
    for r in model_table():
        print(f"| {r['model']} | {r['params']:,} | {r['macs_m']:.1f}M | {r['paper_top1']} |")
    try:
        from skimage import data
    except ImportError:
        print("\nscikit-image is not installed: skipping the photo demo")
        return
    import timm
    from PIL import Image

    from . import create_model, reparameterize

    torch.manual_seed(0)
    model = reparameterize(create_model("emov2_5m"))
    cfg = timm.data.resolve_data_config({}, model=model)
    transform = timm.data.create_transform(**cfg)
    print("\nemov2_5m on scikit-image photos — RANDOMLY INITIALISED (no pretrained weights are downloaded),")
    print("so the classes below are meaningless; pass checkpoint=PATH to emov2.create_model for real ones.\n")
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        img = Image.fromarray(getattr(data, name)()).convert("RGB")
        x = transform(img).unsqueeze(0)
        start = time.perf_counter()
        with torch.inference_mode():
            probs = model(x).softmax(-1)[0]
        ms = (time.perf_counter() - start) * 1000
        top = probs.topk(5)
        classes = ", ".join(f"#{i} {p:.4f}" for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True))
        print(f"{name:10s} {tuple(x.shape[-2:])} {ms:6.1f} ms  top-5 ImageNet ids: {classes}")


if __name__ == "__main__":
    main()
