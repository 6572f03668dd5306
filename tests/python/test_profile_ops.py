"""diviml-profile on a tiny module: measured costs, the whole-model time, the platform."""
import json
import pathlib
import subprocess

import pytest
import tool_cmds

TOOLS = {"diviml-export": tool_cmds.EXPORT, "diviml-profile": tool_cmds.PROFILE, "diviml-calibrate": tool_cmds.CALIBRATE}

torch = pytest.importorskip("torch")

HERE = pathlib.Path(__file__).resolve().parent


def py(root, script, *args):
    env = tool_cmds.env()
    return subprocess.run([*TOOLS[script], *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture()
def exported(root, tmp_path):
    g = tmp_path / "b.json"
    r = py(root, "diviml-export", "--module", "tiny_models:branchy", "--input-shape", "1,3,8,8", "-o", g)
    assert r.returncode == 0, r.stderr
    return g


def test_profiles_every_node_and_writes_a_platform(root, tmp_path, exported, diviml_bin):
    out, plat = tmp_path / "m.json", tmp_path / "local.json"
    r = py(root, "diviml-profile", "--module", "tiny_models:branchy", "--graph", exported, "-o", out,
           "--repeats", "5", "--warmup", "1", "--threads", "1", "--platform-out", plat)
    assert r.returncode == 0, r.stderr
    g = json.loads(out.read_text())
    assert all(n["cost_us"]["cpu"] > 0 for n in g["nodes"])
    prof = g["source"]["profile"]
    assert prof["statistic"] == "median" and prof["repeats"] == 5 and prof["whole_model_us"]["cpu"] > 0
    p = json.loads(plat.read_text())
    cpu = p["devices"][0]
    assert cpu["name"] == "cpu" and cpu["peak_gflops"] > 0 and cpu["mem_bandwidth_gbps"] > 0
    # The planner takes both, and the single-device plan predicts the sum of the medians.
    r = subprocess.run([diviml_bin, "plan", "-g", out, "-p", plat, "-s", "fastest", "-o", tmp_path / "plan.json", "-q"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["makespan_us"] == pytest.approx(sum(n["cost_us"]["cpu"] for n in g["nodes"]), rel=1e-6)
    r = subprocess.run([diviml_bin, "costs", "-g", out, "-p", plat, "--device", "cpu"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "conv2d" in r.stdout and "total" in r.stdout


def test_graph_from_another_model_is_a_clear_error(root, tmp_path, exported):
    r = py(root, "diviml-profile", "--torchvision", "resnet18", "--graph", exported, "-o", tmp_path / "x.json",
           "--repeats", "1", "--warmup", "0")
    assert r.returncode != 0
    assert "is not in the traced model" in r.stderr and "was the graph exported from this model?" in r.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_absent_cuda_device_is_a_clear_error(root, tmp_path, exported):
    r = py(root, "diviml-profile", "--module", "tiny_models:branchy", "--graph", exported, "-o", tmp_path / "x.json",
           "--device", "cuda:0=gpu0")
    assert r.returncode != 0
    assert r.stderr.strip() == "diviml-profile: error: --device 'cuda:0=gpu0': no such CUDA device here"


def test_a_link_fit_tilted_below_the_origin_keeps_a_positive_latency():
    """On a loaded machine the weighted fit of a ping-pong can put its intercept below zero; the
    link then keeps the large messages' bandwidth and a positive latency (no link sends in no
    time), and a clean fit is left as it was."""
    from diviml.profile import ops as mod
    latency, gbps = mod.fit_latency_bandwidth([(4096, 100.0), (65536, 200.0), (1 << 20, 1900.0), (8 << 20, 15000.0)])
    assert 80 < latency < 100 and 0.5 < gbps < 0.65
    latency, gbps = mod.fit_latency_bandwidth([(4096, 5.0), (65536, 120.0), (1 << 20, 1900.0), (8 << 20, 15000.0)])
    assert latency > 0 and gbps == pytest.approx(((8 << 20) - (1 << 20)) / (15000.0 - 1900.0) / 1e3)
