"""How the benchmark prepares models: compile options per mode, and ONNX Runtime sessions without spinning."""

import torch
from torch import nn

from emov2.benchmark import runners


def test_cpu_inference_compile_freezes_weights_training_does_not(monkeypatch):
    seen = []
    monkeypatch.setattr(torch, "compile", lambda model, options=None: seen.append(options) or model)
    model = nn.Conv2d(3, 4, 3)
    runners.prepare(model.eval(), "cpu", channels_last=True, compile=True)
    runners.prepare(model.train(), "cpu", channels_last=False, compile=True)
    runners.prepare(model.eval(), "cpu", channels_last=False, compile=False)
    assert seen == [{"freezing": True}, None]


def test_ort_session_does_not_spin(tmp_path, monkeypatch):
    import onnxruntime as ort

    sessions = []
    real = ort.InferenceSession

    def record(path, opts, providers):
        sessions.append(opts)
        return real(path, opts, providers=providers)

    monkeypatch.setattr(ort, "InferenceSession", record)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
    step = runners.make_ort_infer(model, batch=1, img_size=16, path=tmp_path / "m.onnx", threads=1,
                                  exporter="torchscript")
    assert step()[0].shape == (1, 4)
    assert sessions[0].get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert sessions[0].intra_op_num_threads == 1
