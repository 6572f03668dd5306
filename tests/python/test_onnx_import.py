"""`diviml import` on models exported by torch.onnx, cross-checked against the FX exporter."""
import json
import subprocess

import pytest
from tool_cmds import EXPORT

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")


def export_onnx(model, shape, path, dynamic_batch=False):
    model.eval()
    kwargs = {}
    if dynamic_batch:
        kwargs["dynamic_axes"] = {"x": {0: "batch"}, "y": {0: "batch"}}
    torch.onnx.export(model, torch.randn(*shape), str(path), input_names=["x"], output_names=["y"],
                      opset_version=13, **kwargs)


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)


def fx_graph(root, name, tmp_path):
    out = tmp_path / f"{name}.fx.json"
    r = run(*EXPORT, "--torchvision", name, "-o", out)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())


def test_resnet18_matches_the_fx_export(diviml_bin, root, tmp_path):
    onnx_path = tmp_path / "resnet18.onnx"
    export_onnx(torchvision.models.resnet18(weights=None), (1, 3, 224, 224), onnx_path)
    out = tmp_path / "resnet18.json"
    r = run(diviml_bin, "import", onnx_path, "-o", out)
    assert r.returncode == 0, r.stderr
    g = json.loads(out.read_text())
    fx = fx_graph(root, "resnet18", tmp_path)

    def total(graph, ops):
        return sum(n["flops"] for n in graph["nodes"] if n["op"].lower() in ops)

    # torch.onnx folds BatchNorm into the convolutions, so compare the matmul-like work.
    assert total(g, {"conv", "gemm"}) == total(fx, {"conv2d", "linear"})
    weights_onnx = sum(n.get("param_bytes", 0) for n in g["nodes"])
    weights_fx = sum(n.get("param_bytes", 0) for n in fx["nodes"] if n["op"] in ("conv2d", "linear"))
    assert weights_onnx >= weights_fx  # plus the folded BN shifts as conv biases
    sources = {n["id"] for n in g["nodes"]} - {e["dst"] for e in g["edges"]}
    assert len(sources) == 1 and next(iter(sources)) in {n["id"] for n in g["nodes"] if n.get("input_bytes")}
    r = run(diviml_bin, "plan", "-g", out, "-o", tmp_path / "plan.json", "-q")
    assert r.returncode == 0, r.stderr


def test_weights_read_from_the_host_keep_split_a_bound(diviml_bin, tmp_path):
    """ResNet-18 exported with export_params=False: every weight is a graph input, read from the
    host by most nodes (issue 35). split solves a later module as if its host inputs left when it
    starts, so its stitched value is no bound there: split and auto must still answer with a
    bound at or below the optimum (the MILP proves it on this 48-node graph: auto's plan)."""
    onnx_path = tmp_path / "resnet18_weights_as_inputs.onnx"
    model = torchvision.models.resnet18(weights=None).eval()
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), str(onnx_path), export_params=False, opset_version=13)
    out = tmp_path / "g.json"
    r = run(diviml_bin, "import", onnx_path, "-o", out)
    assert r.returncode == 0, r.stderr
    g = json.loads(out.read_text())
    readers = [n for n in g["nodes"] if n.get("input_bytes", 0) > 0]
    assert len(readers) > len(g["nodes"]) / 3, len(readers)
    plans = {}
    for solver in ("split", "auto"):
        r = run(diviml_bin, "plan", "-g", out, "-s", solver, "--time-limit", "20", "-o", tmp_path / f"{solver}.json", "-q")
        assert r.returncode == 0, r.stderr
        plans[solver] = json.loads((tmp_path / f"{solver}.json").read_text())
    best = min(p["makespan_us"] for p in plans.values())
    for solver, p in plans.items():
        assert p["lower_bound_us"] <= best * (1 + 1e-9), (solver, p["lower_bound_us"], best)
    if plans["auto"]["status"] == "optimal":
        assert plans["split"]["lower_bound_us"] <= plans["auto"]["makespan_us"] * (1 + 1e-9)


def test_dynamic_batch_needs_dim(diviml_bin, tmp_path):
    onnx_path = tmp_path / "m.onnx"
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 2))
    export_onnx(model, (1, 3, 8, 8), onnx_path, dynamic_batch=True)
    r = run(diviml_bin, "import", onnx_path, "-o", tmp_path / "g.json")
    assert r.returncode != 0
    line = r.stderr.strip()
    assert "\n" not in line and "no static shape" in line and "--dim batch=N" in line
    r = run(diviml_bin, "import", onnx_path, "-o", tmp_path / "g.json", "--dim", "batch=4")
    assert r.returncode == 0, r.stderr
    g = json.loads((tmp_path / "g.json").read_text())
    conv = [n for n in g["nodes"] if n["op"] == "Conv"][0]
    assert conv["flops"] == 2 * 4 * 4 * 6 * 6 * 3 * 3 * 3
    r = run(diviml_bin, "import", onnx_path, "-o", tmp_path / "g.json", "--dim", "batch")
    assert r.returncode != 0 and "--dim 'batch' must look like NAME=N" in r.stderr


def test_not_onnx_is_one_line(diviml_bin, root, tmp_path):
    r = run(diviml_bin, "import", root / "README.md", "-o", tmp_path / "g.json")
    assert r.returncode != 0
    assert r.stderr.strip().endswith("README.md: not an ONNX model (no ModelProto with a graph could be read)")
