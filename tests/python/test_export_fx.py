"""The FX exporter on small modules built here (skipped where torch is not installed)."""
import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402


class Branchy(nn.Module):
    """conv -> (relu | conv) -> add -> flatten -> linear: one join, one foldable view."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.side = nn.Conv2d(8, 8, 1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        y = self.conv(x)
        z = self.relu(y) + self.side(y)
        return self.fc(torch.flatten(z, 1))


def export(tmp_path, module):
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2] / "python"))
    import export_fx

    return export_fx.export(module, torch.randn(1, 3, 8, 8), "branchy")


def test_branchy_structure_and_quantities(tmp_path):
    g = export(tmp_path, Branchy())
    ids = [n["id"] for n in g["nodes"]]
    ops = {n["id"]: n["op"] for n in g["nodes"]}
    assert sorted(ops.values()) == sorted(["conv2d", "relu", "conv2d", "add", "linear"])  # flatten folded
    by = {n["id"]: n for n in g["nodes"]}
    conv = by["conv"]
    assert conv["flops"] == 2 * 8 * 8 * 8 * (3 * 3 * 3)
    assert conv["param_bytes"] == (8 * 3 * 3 * 3 + 8) * 4
    assert conv["output_bytes"] == 8 * 8 * 8 * 4
    assert conv["input_bytes"] == 3 * 8 * 8 * 4  # the model input is read from the host
    assert by["fc"]["flops"] == 2 * 10 * 512
    edges = {(e["src"], e["dst"]): e["bytes"] for e in g["edges"]}
    assert edges[("conv", "relu")] == 2048 and edges[("conv", "side")] == 2048
    add = [i for i in ids if ops[i] == "add"][0]
    assert edges[(add, "fc")] == 2048  # through the folded flatten
    assert len(edges) == 5


def test_cli_writes_a_graph_the_planner_reads(tmp_path, diviml_bin, root):
    out = tmp_path / "resnet18.json"
    r = subprocess.run(["/usr/bin/python3", root / "python" / "export_fx.py", "--torchvision", "resnet18", "-o", out],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    g = json.loads(out.read_text())
    assert g["format"] == "diviml.graph/1" and len(g["nodes"]) == 68
    r = subprocess.run([diviml_bin, "plan", "-g", out, "-o", tmp_path / "p.json", "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_unknown_torchvision_model_is_a_clear_error(tmp_path, root):
    r = subprocess.run(["/usr/bin/python3", root / "python" / "export_fx.py", "--torchvision", "nosuchnet", "-o",
                        tmp_path / "x.json"], capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert r.stderr.strip() == "export_fx: error: torchvision has no model 'nosuchnet'"
