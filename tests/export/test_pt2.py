"""torch.export programs: save, reload with torch.export.load, run with a dynamic batch, match PyTorch."""

import torch

from emov2.export import check_parity, export_pt2, load_pt2, parity_inputs, random_images


def test_pt2_round_trip_dynamic_batch(tmp_path, program_1m):
    model, program = program_1m  # torch.export'ed with a dynamic batch (tests/export/conftest.py)
    path = export_pt2(program, tmp_path / "m.pt2")
    assert path.stat().st_size > 1_000_000  # the weights are inside
    reloaded = load_pt2(path)
    inputs = parity_inputs(64, batch=1)
    inputs["batch 4"] = random_images(4, 64, seed=5)
    for r in check_parity(model, reloaded, inputs):
        assert r.ref_max_abs > 0.1
        assert r.max_abs <= 1e-4, str(r)
    program = torch.export.load(str(path))
    assert program.module()(torch.randn(3, 3, 64, 64)).shape == (3, 1000)
