"""Overfit sanity check for SSDLite: train on the first N training images (no augmentation) and evaluate
pycocotools AP on the same images. A working pipeline (box format, labels 1..K, anchors, loss, evaluation)
reaches a high AP; see docs/dense.md. The head init defaults to torchvision's (-1) here: from a random backbone the
paper's Normal(0, 0.001) leaves the class scores near uniform for hundreds of steps (docs/dense.md).

usage: PYTHONPATH=src python docs/det_overfit_check.py DATA_ROOT [--n 8] [--steps 300] [--lr 3e-3] [--size 96]
       [--backbone-checkpoint FILE] [--head-init-std -1 (torchvision's init) | 0.001 (the paper's)]
"""

import argparse
import time

import torch
from timm.optim import create_optimizer_v2

from emov2.detection import create_detector
from emov2.detection.data import CocoDetection, collate
from emov2.detection.task import detection_loss, evaluate_detector


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--backbone-checkpoint")
    p.add_argument("--head-init-std", type=float, default=-1.0)
    a = p.parse_args()
    torch.manual_seed(0)
    ds = CocoDetection(f"{a.data}/images/training", f"{a.data}/instances_training.json", skip_empty=True)
    ds.records = ds.records[: a.n]
    model = create_detector("ssdlite", "emov2_1m", ds.num_classes, size=a.size,
                            backbone_checkpoint=a.backbone_checkpoint,
                            head_init_std=None if a.head_init_std < 0 else a.head_init_std)
    print("before", evaluate_detector(model, ds, 8), flush=True)
    opt = create_optimizer_v2(model, "adamw", lr=a.lr, weight_decay=0.05)  # no decay on norms and biases
    batch = collate([ds[i] for i in range(a.n)])
    model.train()
    t0 = time.time()
    for it in range(a.steps):
        losses = detection_loss(model, batch)
        opt.zero_grad()
        losses["loss"].backward()
        opt.step()
        if it % 20 == 0 or it == a.steps - 1:
            print(it, {k: round(float(v.detach()), 3) for k, v in losses.items()}, f"{time.time() - t0:.0f}s",
                  flush=True)
    print("after", evaluate_detector(model, ds, 8))


if __name__ == "__main__":
    main()
