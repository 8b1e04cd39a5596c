"""`emov2 info` and `emov2 convert` through the CLI entry point."""

import json
import subprocess
import sys

import torch

import emov2
from emov2.cli.main import main
from emov2.models import to_official


def test_info_json(capsys):
    assert main(["info", "--models", "emov2_1m", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["model"] == "emov2_1m" and rows[0]["params"] == 1_460_844
    assert abs(rows[0]["macs_m"] - 285) / 285 < 0.02


def test_info_table_lists_all_variants(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert all(f"| {name} |" in out for name in emov2.list_models())


def test_convert_round_trip(tmp_path, capsys):
    net = emov2.create_model("emov2_1m", num_classes=10).eval()
    src = tmp_path / "official.pth"
    torch.save({"net": to_official(net.state_dict())}, src)
    dst = tmp_path / "out.safetensors"
    assert main(["convert", str(src), str(dst)]) == 0
    assert "emov2_1m, 10 classes" in capsys.readouterr().out
    model = emov2.create_model("emov2_1m", checkpoint=dst).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), net(x), rtol=0, atol=0)


def test_convert_errors_are_one_line(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "missing.pth"), str(tmp_path / "o.safetensors")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("emov2 convert: error: checkpoint not found") and "\n" not in err
    src = tmp_path / "one.pth"
    torch.save(to_official(emov2.create_model("emov2_1m").state_dict()), src)
    assert main(["convert", str(src), str(tmp_path / "o.safetensors"), "--model", "emov2_2m"]) == 2
    err = capsys.readouterr().err.strip()
    assert "does not fit emov2_2m" in err and "looks like emov2_1m" in err and "\n" not in err


def test_console_entry_point_module():
    out = subprocess.run([sys.executable, "-m", "emov2", "info", "--models", "emov2_1m", "--json"],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)[0]["model"] == "emov2_1m"
    bad = subprocess.run([sys.executable, "-m", "emov2", "convert", "x.pth", "y.txt"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
