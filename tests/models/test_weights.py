"""Loading official and converted checkpoints; clear errors for checkpoints that do not fit."""

import pickle

import pytest
import torch

import emov2
from emov2.models import CheckpointError, guess_variant, load_state_dict, save_safetensors, to_official
from emov2.models.weights import read_metadata


def _official_checkpoint(tmp_path, name="emov2_1m", num_classes=1000, **extra):
    torch.manual_seed(3)
    net = emov2.create_model(name, num_classes=num_classes).eval()
    torch.manual_seed(4)
    ema = emov2.create_model(name, num_classes=num_classes).eval()
    path = tmp_path / f"{name}.pth"
    torch.save({"net": to_official(net.state_dict()), "net_E": to_official(ema.state_dict()), "epoch": 300,
                **extra}, path)
    return path, net, ema


def test_official_checkpoint_net_and_ema(tmp_path):
    path, net, ema = _official_checkpoint(tmp_path)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(emov2.create_model("emov2_1m", checkpoint=path).eval()(x), net(x), rtol=0, atol=0)
        torch.testing.assert_close(emov2.create_model("emov2_1m", checkpoint=path, ema=True).eval()(x), ema(x),
                                   rtol=0, atol=0)


def test_bare_official_state_dict_and_num_classes_from_checkpoint(tmp_path):
    net = emov2.create_model("emov2_1m", num_classes=10).eval()
    path = tmp_path / "bare.pth"
    torch.save(to_official(net.state_dict()), path)
    model = emov2.create_model("emov2_1m", checkpoint=path).eval()
    assert model.num_classes == 10
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(model(x), net(x), rtol=0, atol=0)


def test_safetensors_round_trip_with_metadata(tmp_path):
    net = emov2.create_model("emov2_2m").eval()
    path = tmp_path / "w.safetensors"
    save_safetensors(net.state_dict(), path, {"variant": "emov2_2m", "format": "emov2"})
    assert read_metadata(path)["variant"] == "emov2_2m"
    assert not list(tmp_path.glob("*.tmp"))  # the temporary file was renamed away
    sd = load_state_dict(path)
    assert all(torch.equal(sd[k], v) for k, v in net.state_dict().items())
    with pytest.raises(CheckpointError, match="holds emov2_2m weights, not emov2_5m"):
        emov2.create_model("emov2_5m", checkpoint=path)


def test_wrong_variant_names_variant_and_keys(tmp_path):
    path, _, _ = _official_checkpoint(tmp_path, "emov2_1m")
    with pytest.raises(CheckpointError) as err:
        emov2.create_model("emov2_5m", checkpoint=path)
    msg = str(err.value)
    assert "does not fit emov2_5m" in msg and "looks like emov2_1m" in msg
    assert "stem.conv1.conv.weight: checkpoint [16, 3, 3, 3] vs model [24, 3, 3, 3]" in msg


def test_head_mismatch_needs_drop_head(tmp_path):
    path, net, _ = _official_checkpoint(tmp_path, "emov2_1m")
    with pytest.raises(CheckpointError, match="1000 classes and the model 10.*drop_head=True"):
        emov2.create_model("emov2_1m", checkpoint=path, num_classes=10)
    model = emov2.create_model("emov2_1m", checkpoint=path, num_classes=10, drop_head=True)
    assert model.head.out_features == 10
    assert torch.equal(model.stem.conv1.conv.weight, net.stem.conv1.conv.weight)


def test_guess_variant():
    for name in emov2.list_models():
        sd = emov2.create_model(name, num_classes=3).state_dict()
        assert guess_variant(sd) == name


def test_never_unpickles_arbitrary_objects(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"net": Evil()}, f)
    with pytest.raises(CheckpointError, match="refused: not a weights-only checkpoint"):
        load_state_dict(path)


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_state_dict(tmp_path / "nope.pth")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_state_dict(bad)
    path = tmp_path / "no_sd.pth"
    torch.save({"epoch": 3, "args": {"lr": 1.0}}, path)
    with pytest.raises(CheckpointError, match="no state dict found"):
        load_state_dict(path)
