import pytest

import emov2
from emov2.export import export_program, perturb_

SIZE = 64


@pytest.fixture(scope="session")
def program_1m():
    """emov2_1m with non-trivial weights and its torch.export program (dynamic batch), traced once for
    the ONNX (dynamo) and .pt2 tests."""
    model = perturb_(emov2.create_model("emov2_1m"), seed=1).eval()
    return model, export_program(model, SIZE, dynamic_batch=True)
