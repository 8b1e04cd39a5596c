"""Two torchrun "nodes" on this machine (c10d rendezvous on 127.0.0.1, one process each) train one run: every
sample is read once per epoch across the nodes, and only global rank 0 writes (node 1's LOCAL_RANK is 0 too)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from classification.train_helpers import TINY, make_folder  # tests/ is on sys.path (rootdir-relative packages)

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_nodes_one_process_each(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    make_folder(ds / "train", per_class=8, seed=0)  # 24 images: 3 steps of 8 = 2 nodes x 4
    make_folder(ds / "val", per_class=2, seed=1)
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    port = _free_port()
    procs = []
    for node in (0, 1):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node-rank", str(node),
               "--nproc-per-node", "1", "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}",
               "--rdzv-id", "emov2-test", "-m", "emov2", "train", "--data", str(ds), "--output", str(out),
               "--epochs", "2", *TINY]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = [p.communicate(timeout=400)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(log[-3000:] for log in logs)
    assert sum("2 process(es)" in log for log in logs) == 1  # the plan is printed once, by global rank 0
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in rows if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2]  # one row per epoch: a second writer would duplicate them
    n = 24
    for r in epochs:  # each of the 24 images exactly once per epoch, over both nodes
        assert (r["samples"], r["index_sum"], r["index_sq_sum"]) == (n, n * (n - 1) / 2, (n - 1) * n * (2 * n - 1) / 6)
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["world_size"] == 2 and len(state["rng"]) == 2 and state["step"] == 6
    assert not any(p.name.startswith(".") for p in out.iterdir())  # no stray temporary files
