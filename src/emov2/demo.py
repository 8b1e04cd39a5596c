"""``make demo``: train EMOv2-1M on Fashion-MNIST on the CPU within a time budget and show the result.

Steps: check that Fashion-MNIST is there (Debian ``dataset-fashion-mnist``: ``make demo`` installs it), print
the model table, measure the training speed (and pick 1 or 2 CPU threads, whichever is faster here), size the
schedule to the budget, train with progress bars on 55,000 training images while selecting the kept weights on
5,000 held-out ones, measure those weights once on the 10,000 test images, and show predictions on a few of
them. Everything lands in ``runs/demo``.

    python -m emov2.demo [--minutes 10] [--output runs/demo] [--img-size 32]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import torch

from .data.fashion_mnist import FASHION_MNIST_CLASSES, find_fashion_mnist


def ensure_fashion_mnist() -> None:
    """Stop with one line saying how to install Fashion-MNIST when it is missing (nothing is downloaded)."""
    if not find_fashion_mnist():
        raise SystemExit("demo: Fashion-MNIST not found: run `make demo` (it installs Debian's dataset-fashion-mnist) "
                         "or `sudo apt-get install dataset-fashion-mnist`, or set EMOV2_FASHION_MNIST to a folder "
                         "with its four IDX files")


def print_model_table() -> None:
    """Params (counted on the meta device: instant) and the paper's ImageNet numbers of every variant."""
    from .models import VARIANTS, EMOv2

    print("EMOv2 variants (ImageNet-1K, 224 px, from the paper; params counted here):")
    print(f"  {'model':<10} {'params':>8} {'MACs':>7} {'top-1':>6} {'top-1 KD':>9}")
    for name, v in VARIANTS.items():
        with torch.device("meta"):
            n = sum(p.numel() for p in EMOv2(**v.model_kwargs()).parameters())
        kd = f"{v.paper_top1_kd:.1f}%" if v.paper_top1_kd else "-"
        print(f"  {name:<10} {n / 1e6:>7.2f}M {v.paper_macs_m:>6g}M {v.paper_top1:>5.1f}% {kd:>9}")


def measure_speed(model_name: str, img_size: int, batch_size: int, window_size: int, threads: int,
                  steps: int = 5, give_up_below: float = 0.0) -> float:
    """Training images/s of a throwaway model (forward, backward, AdamW step) with ``threads`` CPU threads:
    the median of ``steps`` timed steps after two warm-up steps; stops early (returning the speed of the first
    timed step) when that is below ``give_up_below``."""
    import statistics

    import timm

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    kwargs = {"window_size": window_size} if model_name.startswith("emov2") else {}
    model = timm.create_model(model_name, num_classes=10, **kwargs)
    opt = torch.optim.AdamW(model.parameters(), 1e-3, fused=True)
    x, y = torch.randn(batch_size, 3, img_size, img_size), torch.randint(0, 10, (batch_size,))
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
            if batch_size / times[0] < give_up_below:
                break
    return batch_size / statistics.median(times)


SUSTAINED_FRACTION = 0.65
N_TRAIN = 55_000  # the 60,000 training images less the 5,000 held out for validation


def plan(ips: float, budget_s: float, n_train: int = 55000, batch: int = 128) -> tuple[int, int]:
    """(epochs, images per epoch) that fit ``budget_s`` seconds at ``ips`` images/s: never more images than
    ``ips * budget_s``, whole batches only; ``ValueError`` when not even one batch fits."""
    total = ips * budget_s
    if total < batch:
        raise ValueError(f"at {ips:.0f} img/s a {budget_s / 60:g}-minute budget trains {total:.0f} images, fewer "
                         f"than one batch of {batch}: raise --minutes")
    epochs = max(1, int(total // n_train))
    per_epoch = int(min(n_train, total / epochs)) // batch * batch
    return epochs, per_epoch


def show_predictions(ckpt: Path, n: int = 8) -> None:
    from .classification.inference import load_classifier, predict_topk
    from .data.fashion_mnist import load_fashion_mnist
    from .data.tensor_loader import TensorLoader, resize_uint8

    model, info = load_classifier(ckpt)
    x, y = load_fashion_mnist("test")
    idx = torch.linspace(0, len(y) - 1, n).long()
    loader = TensorLoader(resize_uint8(x[idx], int(info["img_size"])), y[idx], n, train=False,
                          mean=info["mean"], std=info["std"])
    images, labels = next(iter(loader))
    probs, top = predict_topk(model, images, 1)
    print("\nPredictions on a few test images:")
    for i, (p, t, lab) in enumerate(zip(probs[:, 0], top[:, 0], labels, strict=True)):
        mark = "ok " if t == lab else "BAD"
        print(f"  [{mark}] test #{int(idx[i]):>5}: predicted {FASHION_MNIST_CLASSES[t]:<12} ({100 * p:5.1f}%), "
              f"true {FASHION_MNIST_CLASSES[lab]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m emov2.demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=float(os.environ.get("EMOV2_DEMO_MINUTES", 10)),
                    help="training time budget in minutes (default 10; env EMOV2_DEMO_MINUTES)")
    ap.add_argument("--output", default="runs/demo")
    ap.add_argument("--model", default="emov2_1m")
    ap.add_argument("--img-size", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: measure 1 and 2, take the faster)")
    ap.add_argument("--augment", choices=["auto", "on", "off"], default="auto",
                    help="crop/flip augmentation; auto: off when the budget allows only one pass over the data")
    ap.add_argument("--no-table", action="store_true", help="skip the model table")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()

    ensure_fashion_mnist()
    if not args.no_table:
        print_model_table()
    window = max(1, -(-args.img_size // 16))  # stage 3 is ceil(img/16) wide: one window covers it
    candidates = [args.threads] if args.threads else sorted({1, min(2, os.cpu_count() or 1)})
    speeds: dict[int, float] = {}
    for t in candidates:  # a slower thread count is abandoned after one timed step
        speeds[t] = measure_speed(args.model, args.img_size, args.batch_size, window, t,
                                  give_up_below=0.7 * max(speeds.values(), default=0.0))
    threads = max(speeds, key=speeds.get)
    budget = args.minutes * 60
    # Plan conservatively: a whole run sustained 366 img/s after a 536 img/s speed check in one run (402 after 418
    # in the next), counting augmentation, EMA and the per-epoch evaluations; on a shared VM the check is noisy.
    try:
        epochs, per_epoch = plan(speeds[threads] * SUSTAINED_FRACTION, budget, N_TRAIN, batch=args.batch_size)
    except ValueError as e:
        raise SystemExit(f"demo: {e}") from None
    print("\nspeed check: " + ", ".join(f"{t} thread(s) {s:.0f} img/s" for t, s in speeds.items())
          + f" -> {threads} thread(s); budget {args.minutes:g} min -> {epochs} epoch(s) of {per_epoch} images")

    out = Path(args.output)
    if (out / "config.yaml").is_file() or (out / "args.yaml").is_file():
        shutil.rmtree(out)  # a previous demo run
    from .classification.config import ClsConfig
    from .classification.task import ClassificationTask
    from .engine import build_config, fit, load_recipe

    single_pass = args.augment == "off" or (args.augment == "auto" and epochs == 1)
    if single_pass:
        print("no crop/flip augmentation (one pass over the data: each image is seen once, so it only adds noise)")
    overrides = dict(model=args.model, data="fashion-mnist", output=str(out), epochs=epochs,
                     batch_size=args.batch_size, img_size=args.img_size, threads=threads,
                     max_train_samples=per_epoch if per_epoch < N_TRAIN else 0, eval_interval=max(1, epochs // 3))
    if args.model.startswith("emov2"):
        overrides["window_size"] = window
    if single_pass:
        overrides.update(pad=0, hflip=0.0)
    cfg = build_config(ClsConfig, load_recipe("fashion_mnist", "cls"), overrides,
                       sources=["recipe fashion_mnist", "demo"])
    task = ClassificationTask(cfg)
    summary = fit(task, cfg)
    best, test = summary["best"], summary.get("test", {})
    print(f"\nFashion-MNIST, {args.model} at {args.img_size} px, {epochs} epoch(s) of {per_epoch} images:")
    print(f"  validation top-1 {best['value']:.2f}% on {task.data.splits['val']} (selects the kept weights: "
          f"{best['weights']}, epoch {best['epoch']:g})")
    if test:
        print(f"  test top-1 {test['top1']:.2f}% (top-5 {test['top5']:.2f}%) on {test['split']}, measured once on "
              "the kept weights")
    print(f"  training {summary['train_s'] / 60:.1f} min at {summary['samples_per_s']:.0f} img/s "
          f"({summary['samples'] / max(summary['cpu_s'], 1e-9):.0f} per CPU-second, "
          f"{100 * summary['cpu_s'] / max(summary['train_s'], 1e-9):.0f}% of a core); "
          f"total {(time.perf_counter() - t_start) / 60:.1f} min")
    show_predictions(out / "best.safetensors")
    (out / "demo_summary.json").write_text(json.dumps({
        "val_top1": best["value"], "test_top1": test.get("top1"), "test_top5": test.get("top5"),
        "weights": best["weights"], "epochs": epochs, "images_per_epoch": per_epoch, "img_size": args.img_size,
        "threads": threads, "speed_check": speeds, "train_s": summary["train_s"],
        "img_per_s": summary["samples_per_s"], "cpu_s": summary["cpu_s"],
        "img_per_cpu_s": summary["samples"] / max(summary["cpu_s"], 1e-9),
        "total_s": time.perf_counter() - t_start}, indent=1))
    print(f"\nwritten: {out}/ (best.safetensors + best.json, last.pt, metrics.jsonl, curves.png, confusion.png, "
          "test.json)")
    print(f"try:     emov2 eval --checkpoint {out}/best.safetensors --data fashion-mnist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
