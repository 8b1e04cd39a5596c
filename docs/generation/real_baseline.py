"""The ceiling of the sample metrics: N real Fashion-MNIST *train* images, class-balanced, written as a sample
batch in DiT's format (``arr_0`` uint8 (N, H, W, 3), ``labels``), so that ``emov2 gen eval --npz`` scores them
exactly like generated samples (same extractor, same reference of real *test* images).

    python docs/generation/real_baseline.py runs/real_train_1000.npz 1000 [SIZE]
    emov2 gen eval --npz runs/real_train_1000.npz --classifier runs/clf/best.safetensors --num-real 5000
"""
import sys

import numpy as np
import torch

from emov2.generation.data import fashion_mnist
from emov2.generation.npz import balanced_labels
from emov2.generation.sampling import to_uint8

out, n = sys.argv[1], int(sys.argv[2])
size = int(sys.argv[3]) if len(sys.argv) > 3 else 32
x, y = fashion_mnist(split="train", size=size).tensors
labels = balanced_labels(n, 10)
by_class = [torch.nonzero(y == k).flatten() for k in range(10)]
index = [int(by_class[k][i // 10]) for i, k in enumerate(labels.tolist())]  # sample i: the (i // 10)-th of class i % 10
np.savez(out, arr_0=to_uint8(x[index]).permute(0, 2, 3, 1).numpy(), labels=labels.numpy())
print(f"wrote {n} real train images ({size} px) to {out}")
