"""The training-step exporter (diviml.export.training, `diviml-export --training`): forward,
backward and update ops from functorch's aot_module, saved-activation and gradient edges,
colocation groups, optimizer state; and every partitioner keeps the groups on real graphs."""
import collections
import json
import subprocess

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("functorch")
import torchvision  # noqa: E402

from diviml.export import training as export_training  # noqa: E402
from tool_cmds import EXPORT  # noqa: E402


@pytest.fixture(scope="module")
def resnet18_step():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None)
    return model, export_training.export_training(model, torch.randn(2, 3, 32, 32), "r18.train", "adam")


def test_forward_backward_and_one_update_per_parameter(resnet18_step):
    model, g = resnet18_step
    by = {n["id"]: n for n in g["nodes"]}
    ops = collections.Counter(n["op"] for n in g["nodes"])
    params = list(model.named_parameters())
    assert ops["adam_update"] == len(params) == 62
    assert ops["convolution"] == 20 and ops["convolution_backward"] == 20
    assert ops["native_batch_norm"] == 20 and ops["native_batch_norm_backward"] == 20
    assert g["source"]["forward_ops"] > 60 and g["source"]["backward_ops"] > 60
    # Each update holds its parameter and Adam's two moments for the whole step.
    for name, p in params:
        u = by[f"update/{name}"]
        assert u["param_bytes"] == p.numel() * 4 and u["state_bytes"] == 2 * p.numel() * 4
    # The backward does about twice the forward's arithmetic (input and weight gradients).
    fw = sum(n["flops"] for n in g["nodes"] if n["id"].startswith("fw/"))
    bw = sum(n["flops"] for n in g["nodes"] if n["id"].startswith("bw/"))
    assert 1.6 < bw / fw < 2.4
    # The first convolution: 2 * out elements * (3 * 7 * 7) FLOPs; the model input from the host.
    conv1 = [n for n in g["nodes"] if n["op"] == "convolution" and n.get("input_bytes")][0]
    assert conv1["flops"] == 2 * (2 * 64 * 16 * 16) * 3 * 7 * 7
    assert conv1["input_bytes"] == 2 * 3 * 32 * 32 * 4


def test_edges_connect_forward_loss_backward_and_updates(resnet18_step):
    _, g = resnet18_step
    edges = {(e["src"], e["dst"]): e["bytes"] for e in g["edges"]}
    saved = [(s, d) for (s, d) in edges if s.startswith("fw/") and d.startswith("bw/")]
    assert len(saved) > 40  # activations the backward saved
    assert any(s.startswith("fw/") and d == "loss" for (s, d) in edges)
    assert any(s == "loss" and d.startswith("bw/") for (s, d) in edges)
    grads = [(s, d) for (s, d) in edges if d.startswith("update/")]
    assert len(grads) == 62 and all(s.startswith("bw/") for s, _ in grads)
    assert edges[[k for k in grads if k[1] == "update/fc.weight"][0]] == 1000 * 512 * 4
    ids = {n["id"] for n in g["nodes"]}
    assert all(s in ids and d in ids for s, d in edges)


def test_groups_hold_an_op_its_backward_and_its_update(resnet18_step):
    _, g = resnet18_step
    groups = collections.defaultdict(list)
    for n in g["nodes"]:
        if "colocate" in n:
            groups[n["colocate"]].append(n)
    conv = groups["layer1.0.conv1.weight"]
    assert sorted(n["op"] for n in conv) == ["adam_update", "convolution", "convolution_backward"]
    bn = groups["layer1.0.bn1.weight"]  # weight and bias share the batch norm: one group
    assert sorted(n["op"] for n in bn) == ["adam_update", "adam_update", "native_batch_norm",
                                          "native_batch_norm_backward"]
    assert all(n["op"] != "adam_update" or "colocate" in n for n in g["nodes"])


@pytest.mark.parametrize("objective", ["latency", "throughput"])
def test_every_partitioner_keeps_the_groups(tmp_path, diviml_bin, root, objective):
    path = tmp_path / "g.json"
    subprocess.run([*EXPORT, "--training", "--module",
                    "decoder:gpt2_mini", "--input-shape", "1,64,256", "--optimizer", "momentum", "-o", str(path)],
                   check=True, capture_output=True, cwd=tmp_path)
    g = json.loads(path.read_text())
    group_of = {n["id"]: n.get("colocate") for n in g["nodes"]}
    assert sum(1 for v in group_of.values() if v) > 100
    for solver in ["metis", "comm-greedy", "heft" if objective == "latency" else "balance", "split", "auto"]:
        plan_path = tmp_path / f"{solver}.json"
        r = subprocess.run([diviml_bin, "plan", "-g", str(path), "-p", "cpu-2gpu", "-s", solver, "--objective",
                            objective, "--time-limit", "5", "-o", str(plan_path)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        plan = json.loads(plan_path.read_text())
        device_of = {}
        for p in plan["placements"]:
            grp = group_of[p["node"]]
            if grp:
                assert device_of.setdefault(grp, p["device"]) == p["device"], (solver, grp)
        v = subprocess.run([diviml_bin, "validate", "-g", str(path), "-p", "cpu-2gpu", str(plan_path)],
                           capture_output=True, text=True)
        assert v.returncode == 0, v.stderr


def test_export_fx_training_flag_writes_the_step(tmp_path, root):
    out = tmp_path / "s.json"
    r = subprocess.run([*EXPORT, "--training", "--module",
                        "encoder:bert_mini", "--input-shape", "2,8,256", "--optimizer", "sgd", "-o", str(out)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    g = json.loads(out.read_text())
    assert g["source"]["training"] and g["source"]["optimizer"] == "sgd" and g["batch"] == 2
    assert all("state_bytes" not in n for n in g["nodes"])  # plain SGD keeps no state
    assert sum(1 for n in g["nodes"] if n["op"] == "sgd_update") == g["source"]["parameters"]
