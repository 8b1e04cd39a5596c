"""Outputs of the 2-D model pinned bitwise (float32) across refactors.

``tests/data/pinned_2d.safetensors`` was written by this module with the code of main at commit 560f3b9, before
the layers were rewritten (``PYTHONPATH=src:tests OMP_NUM_THREADS=2 python -m models.pinned``). Each case runs
a model with seeded weights (layer scales ~ N(0, 0.25), so every layer shows in the output) through the paths the
package takes on CPU: eval logits at odd sizes (padded windows), 224 px (single-window stage 4), remote/close
modes, a fused channels-last model (1x1 convs as GEMMs, tiny depthwise maps as matmuls) and training steps
at 32 px (single windows) and 64 px with window 2 (several windows): train-mode forward, backward.
"""

from __future__ import annotations

from pathlib import Path

import torch

DATA = Path(__file__).resolve().parent.parent / "data" / "pinned_2d.safetensors"
THREADS = 2  # CPU kernels block their sums by thread count: the pinned bits hold for this count (and CPU ISA)
GRADS = ("stem.conv1.conv.weight", "stages.2.blocks.1.op.qk.bias", "stages.2.blocks.1.op.v.bias",
         "stages.2.blocks.1.dw.conv.weight", "stages.1.blocks.0.op.conv.weight", "head.weight")


def _model(name: str, **kwargs):
    import emov2
    from emov2.models.official import from_official, to_official

    from .reference import seeded_weights

    model = emov2.create_model(name, **{"num_classes": 64, **kwargs})
    sd = seeded_weights(to_official(model.state_dict()), seed=0)
    model.load_state_dict({k: v.float() for k, v in from_official(sd).items()})
    return model


def _images(b: int, h: int, w: int, seed: int) -> torch.Tensor:
    return torch.randn(b, 3, h, w, generator=torch.Generator().manual_seed(seed))


def compute_cases() -> dict[str, torch.Tensor]:
    """Every pinned tensor, recomputed with the current code."""
    import emov2

    out = {}
    with torch.no_grad():
        m = _model("emov2_1m").eval()
        out["1m_eval_97x131"] = m(_images(2, 97, 131, 1))
        out["1m_eval_224"] = m(_images(1, 224, 224, 2))
        for mode in ("remote", "close"):
            out[f"2m_{mode}_64x96"] = _model("emov2_2m", attention=mode).eval()(_images(2, 64, 96, 3))
        m5 = _model("emov2_5m").eval()
        out["5m_eval_224"] = m5(_images(1, 224, 224, 4))
        feats = m5.forward_intermediates(_images(1, 160, 200, 5), indices=[4], intermediates_only=True)
        out["5m_feature4_160x200"] = feats[0].contiguous()
        fused = emov2.reparameterize(m5).to(memory_format=torch.channels_last)
        out["5m_fused_cl_224"] = fused(_images(1, 224, 224, 4).to(memory_format=torch.channels_last))
        out["5m_fused_cl_32"] = fused(_images(4, 32, 32, 6).to(memory_format=torch.channels_last))
    for case, size, window in (("1m_train_32", 32, 7), ("1m_train_64_w2", 64, 2)):
        m = _model("emov2_1m", num_classes=10, drop_path_rate=0.0, window_size=window).train()
        x = _images(8, size, size, 7).to(memory_format=torch.channels_last)
        y = m(x)
        y.logsumexp(1).sum().backward()
        out[f"{case}_logits"] = y.detach()
        for name in GRADS:
            out[f"{case}_grad.{name}"] = m.get_parameter(name).grad.contiguous()
    return out


if __name__ == "__main__":
    from safetensors.torch import save_file

    torch.set_num_threads(THREADS)
    meta = {"cpu_capability": torch.backends.cpu.get_cpu_capability(), "threads": str(THREADS),
            "torch": torch.__version__, "commit": "560f3b9"}
    save_file({k: v.contiguous() for k, v in compute_cases().items()}, str(DATA), metadata=meta)
    print(f"wrote {DATA}")
