"""ExecuTorch (.pte, XNNPACK) and Core ML: run only where the optional packages are installed."""

import pytest

import emov2
from emov2.export import export_model, perturb_
from emov2.export.coreml import coreml_available
from emov2.export.executorch import executorch_available


@pytest.mark.skipif(executorch_available() is not None, reason="executorch not installed (pip install emov2[mobile])")
def test_pte_xnnpack_parity(tmp_path):
    model = perturb_(emov2.create_model("emov2_1m", window_size=2), seed=3).eval()  # unpadded at 64 px
    result = export_model(model, "pte", tmp_path / "m.pte", img_size=64, check=True)
    assert result.path.stat().st_size > 1_000_000
    assert len(result.parity) == 4  # 1 random + 3 photos, one by one
    assert result.max_abs <= 1e-4, [str(p) for p in result.parity]


@pytest.mark.skipif(coreml_available() is not None, reason="coremltools not installed (pip install emov2[mobile])")
@pytest.mark.xfail(strict=True, raises=RuntimeError, reason="known defect: coremltools 9.0 rejects the attention's "
                   "in-graph gather indices ('expects int32 ... got fp32'); fails at 64 and 224 px alike")
def test_coreml_conversion(tmp_path):
    model = emov2.create_model("emov2_1m").eval()
    export_model(model, "coreml", tmp_path / "m.mlpackage", img_size=64)  # converts; running needs macOS
    assert (tmp_path / "m.mlpackage" / "Manifest.json").is_file()
