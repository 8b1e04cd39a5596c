"""Before/after CPU timing of two emov2 checkouts in ONE process, interleaved call by call, on the same weights.

On a shared VM the load drifts by more than the effect between separate runs (docs/ab_bench.sh's per-round
ratios range 0.6-1.6); here both versions run back to back inside each round, so both see the same load.
The old checkout's package is copied to a temporary folder as ``emov2_old`` (its imports are relative).

usage: python docs/ab_inprocess.py OLD_CHECKOUT [--rounds 40] [--threads 2] [--models emov2_1m,emov2_5m]

Prints, per model: batch-1 224² channels_last inference, plain and reparameterized (``+fused``), and one
training step at batch 128, 32 px, 10 classes (emov2_1m); old and new median ms and the median of the
per-round new/old ratios.
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch


def _old_package(checkout: str):
    tmp = Path(tempfile.mkdtemp(prefix="emov2_ab_"))
    shutil.copytree(Path(checkout) / "src" / "emov2", tmp / "emov2_old")
    sys.path.insert(0, str(tmp))
    warnings.filterwarnings("ignore", message=".*Overwriting.*")  # both register the same timm names
    import emov2_old.models as old_models
    from emov2_old.models.emov2 import reparameterize as old_rep

    return old_models, old_rep


def _interleave(fns: dict, rounds: int, calls: int) -> dict:
    times = {k: [] for k in fns}
    for r in range(rounds):
        for k in list(fns) if r % 2 == 0 else list(reversed(fns)):
            t = time.perf_counter()
            for _ in range(calls):
                fns[k]()
            times[k].append((time.perf_counter() - t) / calls * 1e3)
    return times


def _report(label: str, old: list, new: list) -> None:
    paired = statistics.median(b / a for a, b in zip(old, new, strict=True))
    print(f"| {label} | {statistics.median(old):.2f} | {statistics.median(new):.2f} | {paired:.3f} |")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("old")
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--models", default="emov2_1m,emov2_5m")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    old_models, old_rep = _old_package(a.old)
    import emov2.models as new_models
    from emov2.models.emov2 import reparameterize as new_rep

    print("| case | old ms | new ms | new/old, median of per-round ratios |\n|---|---:|---:|---:|")
    x = torch.randn(1, 3, 224, 224).contiguous(memory_format=torch.channels_last)
    for name in a.models.split(","):
        old = old_models.create_model(name).eval()
        new = new_models.create_model(name).eval()
        new.load_state_dict(old.state_dict())  # the same weights in both
        for fused in (False, True):
            pair = {"old": old_rep(old) if fused else old, "new": new_rep(new) if fused else new}
            pair = {k: m.to(memory_format=torch.channels_last) for k, m in pair.items()}
            with torch.inference_mode():
                torch.testing.assert_close(pair["new"](x), pair["old"](x), rtol=1e-4, atol=1e-4)
                for m in pair.values():
                    m(x)
                t = _interleave({k: (lambda m=m: m(x)) for k, m in pair.items()}, a.rounds, 3)
            _report(f"{name}{'+fused' if fused else ''} b1 224 channels_last", t["old"], t["new"])

    xb, yb = torch.randn(128, 3, 32, 32), torch.randint(0, 10, (128,))
    old = old_models.create_model("emov2_1m", num_classes=10).train()
    new = new_models.create_model("emov2_1m", num_classes=10).train()
    new.load_state_dict(old.state_dict())
    opts = {k: torch.optim.SGD(m.parameters(), lr=1e-3) for k, m in (("old", old), ("new", new))}

    def step(k: str, m: torch.nn.Module) -> None:
        loss = torch.nn.functional.cross_entropy(m(xb), yb)
        opts[k].zero_grad()
        loss.backward()
        opts[k].step()

    t = _interleave({"old": lambda: step("old", old), "new": lambda: step("new", new)}, max(10, a.rounds // 2), 2)
    _report("emov2_1m train step b128 32 px", t["old"], t["new"])


if __name__ == "__main__":
    main()
