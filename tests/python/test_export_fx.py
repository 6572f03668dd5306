"""The FX exporter on small modules built here (skipped where torch is not installed)."""
import json
import pathlib
import subprocess

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402
import torchvision  # noqa: E402


HERE = pathlib.Path(__file__).resolve().parent
import tiny_models  # noqa: E402
import tool_cmds  # noqa: E402
from diviml.export import fx as export_fx  # noqa: E402
from tool_cmds import EXPORT  # noqa: E402


def export(tmp_path, module):
    return export_fx.export(module, torch.randn(1, 3, 8, 8), "branchy")


def test_branchy_structure_and_quantities(tmp_path):
    g = export(tmp_path, tiny_models.branchy())
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
    r = subprocess.run([*EXPORT, "--torchvision", "resnet18", "-o", out],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    g = json.loads(out.read_text())
    # 68 ops, of which 20 BatchNorms folded into the convolutions before them (as torch.onnx does).
    assert g["format"] == "diviml.graph/1" and len(g["nodes"]) == 48 and g["source"]["fold_batchnorm"] is True
    assert not [n for n in g["nodes"] if n["op"] == "batchnorm2d"]
    conv1 = next(n for n in g["nodes"] if n["id"] == "conv1")
    assert conv1["param_bytes"] == 4 * (64 * 3 * 7 * 7 + 64)  # the BN's shift is its bias now
    r = subprocess.run([diviml_bin, "plan", "-g", out, "-o", tmp_path / "p.json", "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    kept = tmp_path / "resnet18.bn.json"
    r = subprocess.run([*EXPORT, "--torchvision", "resnet18", "-o", kept,
                        "--no-fold-batchnorm"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    k = json.loads(kept.read_text())
    assert len(k["nodes"]) == 68 and sum(n["op"] == "batchnorm2d" for n in k["nodes"]) == 20
    assert k["source"]["fold_batchnorm"] is False


def test_unknown_torchvision_model_is_a_clear_error(tmp_path, root):
    r = subprocess.run([*EXPORT, "--torchvision", "nosuchnet", "-o",
                        tmp_path / "x.json"], capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert r.stderr.strip() == "diviml-export: error: torchvision has no model 'nosuchnet'"


def test_unknown_segmentation_model_or_family_is_a_clear_error(tmp_path, root):
    for name in ("segmentation.nosuchnet", "detection.nosuchnet", "nosuchfamily.resnet18", "get_model"):
        r = subprocess.run([*EXPORT, "--torchvision", name, "-o",
                            tmp_path / "x.json"], capture_output=True, text=True, timeout=300)
        assert r.returncode != 0
        assert r.stderr.strip() == f"diviml-export: error: torchvision has no model '{name}'"


def test_detection_flow_and_quantized_models_are_unsupported_with_a_reason(tmp_path, root):
    for name, reason in (("detection.fasterrcnn_resnet50_fpn", "non-maximum suppression depend on the data"),
                         ("optical_flow.raft_small", "loop"), ("quantization.quantized_resnet18", "quantized")):
        r = subprocess.run([*EXPORT, "--torchvision", name, "-o",
                            tmp_path / "x.json"], capture_output=True, text=True, timeout=300)
        assert r.returncode != 0
        line = r.stderr.strip()
        assert line.startswith(f"diviml-export: error: unsupported: {name} (") and reason in line, line


def test_video_model_exports_at_its_clip_size(tmp_path, root):
    out = tmp_path / "r3d.json"
    r = subprocess.run([*EXPORT, "--torchvision", "video.r3d_18", "-o", out],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    g = json.loads(out.read_text())
    assert g["source"]["input_shape"] == [1, 3, 16, 112, 112]
    assert sum(n["op"] == "conv3d" for n in g["nodes"]) == 20
    assert not [n for n in g["nodes"] if n["op"] == "batchnorm3d"]  # folded into the convolutions
    # torchvision documents 40.70 GFLOPS (multiply-adds) for R3D-18; we count a multiply-add as two.
    assert abs(sum(n["flops"] for n in g["nodes"]) / 2e9 - 40.70) / 40.70 < 0.01


def test_eval_no_ops_and_constant_computations_are_not_ops(tmp_path):
    # Stochastic depth is the identity in eval mode; Swin's position bias is computed from weights only.
    g = export_fx.export(torchvision.models.swin_t(weights=None), torch.randn(1, 3, 224, 224), "swin_t", meta=True)
    kinds = {n["op"] for n in g["nodes"]}
    assert not kinds & {"stochastic_depth", "get_relative_position_bias", "patch_merging_pad"}, kinds
    attn = [n for n in g["nodes"] if n["op"] == "shifted_window_attention"]
    assert len(attn) == 12 and all(n["param_bytes"] > 0 for n in attn)


def test_tuple_unpacking_traces_on_this_python(tmp_path):
    g = export_fx.export(tiny_models.two_heads(), torch.randn(1, 3, 4, 4), "two_heads")
    ops = sorted(n["op"] for n in g["nodes"])
    assert ops == ["conv2d", "mul"]  # shape reads, chunk and reshape fold away
    assert g["edges"] == [{"src": "conv", "dst": "mul", "bytes": 4 * 4 * 4 * 4}]


def test_vit_b_16_exports(tmp_path, root):
    out = tmp_path / "vit.json"
    r = subprocess.run([*EXPORT, "--torchvision", "vit_b_16", "-o", out],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    g = json.loads(out.read_text())
    flops = sum(n["flops"] for n in g["nodes"])
    assert abs(flops / 1e9 - 35.2) < 0.5  # 17.6 GMACs, the published figure
    assert sum(1 for n in g["nodes"] if n["op"] == "multiheadattention") == 12


def test_user_module_through_the_cli(tmp_path, root, diviml_bin):
    out = tmp_path / "b.json"
    env = tool_cmds.env()
    r = subprocess.run([*EXPORT, "--module", "tiny_models:branchy",
                        "--input-shape", "1,3,8,8", "-o", out], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    g = json.loads(out.read_text())
    assert g["name"] == "branchy" and g["source"]["input_shape"] == [1, 3, 8, 8]
    r = subprocess.run([*EXPORT, "--module", "tiny_models:nothing",
                        "-o", out], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode != 0 and r.stderr.strip().startswith("diviml-export: error: cannot load 'tiny_models:nothing'")


def test_segmentation_model_with_a_long_skip_is_planned_with_multi_channel_cuts(tmp_path, root, diviml_bin):
    # LR-ASPP reads a stride-8 backbone feature in its head: a residual across ~150 nodes, so no
    # split node lies in between and split cuts that stretch where few tensors cross.
    out = tmp_path / "lraspp.json"
    r = subprocess.run([*EXPORT, "--torchvision",
                        "segmentation.lraspp_mobilenet_v3_large", "-o", out], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    g = json.loads(out.read_text())
    assert g["name"] == "lraspp_mobilenet_v3_large"
    sinks = {n["id"] for n in g["nodes"]} - {e["src"] for e in g["edges"]}
    assert len(sinks) == 1  # one output, no auxiliary head
    plan = tmp_path / "p.json"
    r = subprocess.run([diviml_bin, "plan", "-g", out, "-s", "split", "-o", plan, "-v"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    cut = [m for m in json.loads(plan.read_text())["modules"] if m["segments"] > 1]
    assert cut and all(2 <= m["channels"] <= 3 for m in cut), r.stdout
    assert "multi-channel cuts" in r.stdout


def test_batch_size_scales_the_graph_and_throughput_reports_samples(tmp_path, diviml_bin, root):
    # The same graph at batch 4: four times the FLOPs, "batch": 4 in the file; a throughput plan
    # reports inputs/s (batches) and samples/s = 4 x inputs/s.
    one, four = tmp_path / "b1.json", tmp_path / "b4.json"
    for out, extra in ((one, []), (four, ["--batch-size", "4"])):
        r = subprocess.run([*EXPORT, "--torchvision", "resnet18",
                            "-o", out, *extra], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    g1, g4 = json.loads(one.read_text()), json.loads(four.read_text())
    assert "batch" not in g1 and g4["batch"] == 4
    assert len(g1["nodes"]) == len(g4["nodes"])
    flops = lambda g: sum(n.get("flops", 0) for n in g["nodes"])
    assert flops(g4) == pytest.approx(4 * flops(g1), rel=1e-9)
    r = subprocess.run([diviml_bin, "plan", "-g", four, "--objective", "throughput", "-o", tmp_path / "p.json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert " samples/s at batch 4)" in r.stdout
    plan = json.loads((tmp_path / "p.json").read_text())
    assert plan["samples_per_s"] == pytest.approx(4 * plan["throughput_per_s"], rel=1e-12)
    r = subprocess.run([*EXPORT, "--torchvision", "resnet18",
                        "--batch-size", "0", "-o", tmp_path / "x.json"], capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert r.stderr.strip() == "diviml-export: error: --batch-size 0 must be at least 1"


class Scores(nn.Module):
    def forward(self, x):
        return torch.einsum("b i d, b j d -> b i j", x, x * 2)


def test_einsum_counts_its_contraction():
    g = export_fx.export(Scores(), torch.randn(2, 3, 5), "scores")
    e = next(n for n in g["nodes"] if n["op"] == "einsum")
    assert e["flops"] == 2 * 2 * 3 * 3 * 5 and e["output_bytes"] == 4 * 2 * 3 * 3
