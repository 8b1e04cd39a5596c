"""`emov2 bench --profile`: operator tables from torch.profiler and ONNX Runtime's profiler."""

import json

import pytest
import torch
from torch import nn

from emov2.benchmark import runners
from emov2.benchmark.profiling import OpTime, ort_op_times, profile_step, self_times, top_ops


def test_top_ops_ranks_and_shares():
    totals = {"aten::mm": 300.0, "aten::add": 100.0, "aten::relu": 600.0}  # µs over 2 steps
    assert top_ops(totals, steps=2, n=2) == [OpTime("aten::relu", 0.3, 0.6), OpTime("aten::mm", 0.15, 0.3)]
    assert top_ops({}, steps=2, n=3) == []


def test_torch_profile_finds_the_dominant_op():
    torch.manual_seed(0)
    big, x = nn.Linear(1024, 1024), torch.randn(1024, 1024)  # ~1 GMAC against 1M ReLU outputs: robust to load

    def step():
        with torch.inference_mode():
            return big(x).relu()

    ops = profile_step(step, device="cpu", top=20, steps=3)
    names = [o.op for o in ops]
    assert names[0] in ("aten::addmm", "aten::mm", "aten::linear"), names  # the GEMM outweighs the ReLU
    assert "aten::relu" in names or "aten::clamp_min" in names
    assert all(0 < o.share <= 1 for o in ops) and sum(o.share for o in ops) == pytest.approx(1, abs=1e-6)


def test_ort_profile_skips_warmup_and_counts_runs(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
    step = runners.make_ort_infer(model, batch=1, img_size=32, path=tmp_path / "m.onnx", threads=1,
                                  exporter="torchscript")
    ops = profile_step(step, device="cpu", top=5, steps=4)
    assert ops[0].op == "Conv" and {"Conv", "GlobalAveragePool"} <= {o.op for o in ops}
    assert not list(tmp_path.glob("*.json"))  # the trace file is deleted after reading


def test_ort_trace_parsing_leaves_out_the_first_run(tmp_path):
    node = lambda op, ts, dur: {"cat": "Node", "name": f"{op}_kernel_time", "ts": ts, "dur": dur,  # noqa: E731
                                "args": {"op_name": op}}
    events = [
        {"cat": "Session", "name": "model_run", "ts": 0, "dur": 100}, node("Conv", 10, 80),  # warm-up
        {"cat": "Session", "name": "model_run", "ts": 200, "dur": 50}, node("Conv", 210, 30), node("Relu", 240, 5),
        {"cat": "Session", "name": "model_run", "ts": 300, "dur": 50}, node("Conv", 310, 20),
    ]
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(events))
    assert ort_op_times(path, skip_runs=1) == {"Conv": 50.0, "Relu": 5.0}
    assert not path.exists()


def test_profile_tables_markdown():
    rows = [{"model": "m", "config": "eager", "top_ops": [{"op": "aten::mm", "ms_per_step": 1.5, "share": 0.75}]},
            {"model": "n", "config": "eager"}]
    from emov2.benchmark import profile_tables

    text = profile_tables(rows)
    assert "### m [eager]" in text and "| `aten::mm` | 1.500 | 75.0% |" in text and "[n]" not in text


def test_gpu_self_times_count_kernels_once():
    from types import SimpleNamespace

    from torch.autograd import DeviceType

    ev = lambda key, dev, cpu, gpu: SimpleNamespace(  # noqa: E731
        key=key, device_type=dev, self_cpu_time_total=cpu, self_device_time_total=gpu)
    events = [ev("aten::addmm", DeviceType.CPU, 40.0, 900.0),  # the CPU op also carries its kernel's device time
              ev("sm90_gemm_kernel", DeviceType.CUDA, 0.0, 900.0),
              ev("elementwise_kernel", DeviceType.CUDA, 0.0, 100.0)]
    assert self_times(events, cuda=True) == {"sm90_gemm_kernel": 900.0, "elementwise_kernel": 100.0}
    assert self_times(events, cuda=False) == {"aten::addmm": 40.0}
