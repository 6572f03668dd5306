"""The `diviml` Python package (pybind11 over the C++ library): a PyTorch user plans a module
in-process and gets a Plan object. Its answers are checked against the CLI on the same graph
(another process, the same files), and its plan files against `diviml validate`."""
import json
import os
import subprocess
import threading
import time

import pathlib

import pytest
import torch

HERE = pathlib.Path(__file__).resolve().parent
import tiny_models  # noqa: E402
import tool_cmds  # noqa: E402


@pytest.fixture(scope="module")
def diviml():
    """The package as a user imports it: built (CTest puts build/python on PYTHONPATH) or installed,
    never the source folder python/diviml (which has no native module)."""
    try:
        import diviml as package
    except ImportError as e:
        pytest.fail(f"import diviml: {e} (scripts/build.sh builds it into build/python; pip install installs it)")
    assert os.path.exists(os.path.join(os.path.dirname(package.__file__), "export", "fx.py")), package.__file__
    return package


def cli(*args):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


def test_a_pytorch_module_planned_in_process_matches_the_cli(diviml, diviml_bin, tmp_path):
    model = tiny_models.branchy()
    x = torch.randn(1, 3, 8, 8)
    plan = diviml.plan(model, "cpu-2gpu", objective="latency", time_limit=10, solver="heft", example_inputs=x)
    assert isinstance(plan, diviml.Plan) and plan.solver == "heft" and plan.objective == "latency"
    assert plan.makespan > 0 and 0 < plan.bound <= plan.makespan and 0 <= plan.gap < 1
    assert {p.node for p in plan.placements} == {"conv", "side", "relu", "add", "fc"}
    assert all(p.end_us >= p.start_us >= 0 for p in plan.placements)
    # The same graph through the CLI: the same plan.
    graph = tmp_path / "branchy.json"
    graph.write_text(json.dumps(diviml.export(model, x, name="branchy")))
    cli(diviml_bin, "plan", "-g", graph, "-s", "heft", "-o", tmp_path / "cli.json", "-q")
    theirs = json.loads((tmp_path / "cli.json").read_text())
    assert plan.makespan == pytest.approx(theirs["makespan_us"])
    assert plan.device_of == {p["node"]: p["device"] for p in theirs["placements"]}
    # to_json() is a plan file the CLI validates.
    (tmp_path / "py.json").write_text(plan.to_json())
    cli(diviml_bin, "validate", "-g", graph, tmp_path / "py.json")
    plan.validate()


def test_renderings_and_files(diviml, root, tmp_path):
    plan = diviml.plan(str(root / "models" / "googlenet.json"), time_limit=5, solver="split", threads=2)
    assert plan.status in ("optimal", "feasible") and plan.doc["modules"]
    svg = plan.gantt()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    trace = json.loads(plan.trace())
    assert trace["otherData"]["makespan_us"] == pytest.approx(plan.makespan)
    plan.html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    plan.save(tmp_path / "p.json")
    assert json.loads((tmp_path / "p.json").read_text())["solver"] == "split"
    assert "split" in repr(plan) and "gap" in repr(plan)


def test_throughput_onnx_and_platform_dicts(diviml, root):
    plan = diviml.plan(root / "models" / "resnet18.json", objective="throughput", solver="replicas")
    assert plan.objective == "throughput" and plan.lanes > 1 and plan.value == plan.period_us > 0
    assert plan.period_us <= plan.latency_us
    onnx_plan = diviml.plan(root / "tests" / "data" / "onnx" / "small_cnn.onnx", solver="fastest")
    assert onnx_plan.placements
    graph = diviml.import_onnx(root / "tests" / "data" / "onnx" / "small_cnn.onnx")
    assert {p.node for p in onnx_plan.placements} == {n["id"] for n in graph["nodes"]}
    platform = json.loads((root / "platforms" / "cpu-2gpu.json").read_text())
    same = diviml.plan(graph, platform, solver="heft")
    assert same.makespan == pytest.approx(diviml.plan(graph, "cpu-2gpu", solver="heft").makespan)


def test_a_throughput_plan_speaks_periods_and_the_tradeoff_has_them_all(diviml, root):
    g = root / "models" / "resnet18.json"
    plan = diviml.plan(g, objective="throughput", solver="stages", time_limit=2)
    assert plan.period == plan.value == plan.period_us and plan.latency == plan.latency_us
    assert plan.throughput == pytest.approx(1e6 / plan.period_us)
    assert plan.bound <= plan.period and plan.gap == pytest.approx((plan.period - plan.bound) / plan.period)
    lat = diviml.plan(g, solver="heft", time_limit=2)
    assert lat.period == lat.value == lat.makespan == lat.latency
    with pytest.raises(diviml.InfeasibleError, match="the least latency found is"):
        diviml.plan(g, objective="throughput", time_limit=2, max_latency_us=1)
    t = diviml.tradeoff(g, time_limit=1)
    assert t.latency_plan.objective == "latency" and [p.factor for p in t.points] == [1, 1.5, 2, 4, 0]
    for p in t.points:
        assert (p.plan is None) != (p.error is None)
        if p.plan is not None and p.max_latency_us:
            assert p.plan.objective == "throughput" and p.plan.latency <= p.max_latency_us * (1 + 1e-9)
    assert t.points[-1].plan is not None and json.loads(t.to_json())["points"][-1]["factor"] == 0


def test_a_plan_takes_a_name_and_the_clis_default_time_limit(diviml, diviml_bin, root):
    g = root / "models" / "resnet18.json"
    named = diviml.plan(g, solver="heft", name="edge-camera-net")
    assert json.loads(named.to_json())["graph"] == "edge-camera-net"
    assert "edge-camera-net" in named.html() and "resnet18" not in named.html().split("<title>")[1].split("</title>")[0]
    assert json.loads(diviml.plan(g, solver="heft").to_json())["graph"] == "resnet18"  # the file's own name
    with pytest.raises(diviml.UsageError, match="name must be a non-empty string"):
        diviml.plan(g, solver="heft", name="")
    with pytest.raises(diviml.UsageError, match="name must be a non-empty string"):
        diviml.plan(g, solver="heft", name=3)
    # One default for the CLI and the package: what `diviml options` prints.
    options = subprocess.run([diviml_bin, "options"], capture_output=True, text=True, check=True).stdout
    line = next(x for x in options.splitlines() if x.split()[:1] == ["--time-limit"])
    assert diviml.default_time_limit() == float(line.split("default")[1].split()[0]) == 60


def test_errors_are_exceptions_by_class(diviml, root):
    g = str(root / "models" / "resnet18.json")
    with pytest.raises(diviml.UsageError, match="unknown solver 'nope'"):
        diviml.plan(g, solver="nope")
    with pytest.raises(diviml.UsageError, match="unknown option 'bogus'.*threads"):
        diviml.plan(g, bogus=1)
    with pytest.raises(diviml.UsageError, match="--threads.*out of range"):
        diviml.plan(g, threads=0)
    with pytest.raises(diviml.UsageError, match="example_inputs"):
        diviml.plan(tiny_models.branchy())
    with pytest.raises(diviml.UsageError, match="not int"):
        diviml.plan(3)
    with pytest.raises(diviml.InputError, match="no-such.json"):
        diviml.plan("no-such.json")
    with pytest.raises(diviml.InputError, match="platform 'nowhere'|nowhere"):
        diviml.plan(g, "nowhere")
    platform = json.loads((root / "platforms" / "cpu-2gpu.json").read_text())
    for d in platform["devices"]:
        d["memory_bytes"] = 1000
    with pytest.raises(diviml.InfeasibleError, match="no plan exists"):
        diviml.plan(g, platform, solver="heft")
    assert issubclass(diviml.InfeasibleError, diviml.Error) and issubclass(diviml.Error, Exception)


def test_a_solve_releases_the_interpreter(diviml, diviml_bin, tmp_path):
    g = tmp_path / "rwnn.json"
    cli(diviml_bin, "gen", "rwnn", "--nodes", "32", "--stages", "3", "-o", g)
    done = {}

    def solve():
        done["plan"] = diviml.plan(g, solver="split", time_limit=2)

    t = threading.Thread(target=solve)
    t.start()
    ticks = 0
    start = time.monotonic()
    while t.is_alive():
        ticks += 1
        time.sleep(0.01)
    t.join()
    # The other thread kept running Python while the planner worked (the GIL was released).
    assert time.monotonic() - start > 0.3 and ticks >= 10
    assert done["plan"].solve_time_s <= 2 + 2.0


def test_serve_matches_the_cli_and_its_files_validate(diviml, diviml_bin, tmp_path):
    # The same request in process and through `diviml serve`: the same layout (the search is seeded
    # and stops when it converges, well before the time limit on this small fleet).
    args = dict(prompt=512, output=64, ttft_ms=2000, tpot_ms=60, time_limit=5)
    s = diviml.serve("llama3-8b", "cluster-3srv", **args)
    out = tmp_path / "cli.json"
    cli(diviml_bin, "serve", "--preset", "llama3-8b", "-p", "cluster-3srv", "--prompt", "512", "--output", "64",
        "--ttft-ms", "2000", "--tpot-ms", "60", "--time-limit", "5", "-o", out)
    doc = json.loads(out.read_text())
    assert doc["format"] == "diviml.serve/1"
    assert s.tokens_per_s == pytest.approx(doc["tokens_per_s"], rel=1e-9)
    assert s.batch == doc["batch"] and s.mode == doc["mode"]
    assert 0 < s.tokens_per_s <= s.bound_tokens_per_s
    assert s.ttft_ms <= 2000 and s.tpot_ms <= 60
    assert set(s.baselines) == {"homogeneous", "uniform-pipeline", "helix-like"}
    # Memory per GPU within its capacity, in the file a user deploys from.
    for d in s.doc["devices"]:
        assert d["used_bytes"] <= d["capacity_bytes"] * (1 + 1e-9), d
    # Saved as the CLI saves it; every plan passes `diviml validate`.
    s.save(str(tmp_path / "py.json"))
    s.html(str(tmp_path / "py.html"))
    assert "<svg" in (tmp_path / "py.html").read_text()
    saved = json.loads((tmp_path / "py.json").read_text())
    assert saved["plans"]["passes"], saved["plans"]
    for entry in saved["plans"]["passes"]:
        r = cli(diviml_bin, "validate", "-g", tmp_path / entry["graph"], "-p", tmp_path / saved["plans"]["platform"],
                tmp_path / entry["plan"])
        assert "valid plan" in r.stdout
    # Bad input: one line, by class.
    with pytest.raises(diviml.UsageError, match="llama9"):
        diviml.serve("llama9", "cluster-3srv")
    with pytest.raises(diviml.UsageError, match="tpot"):
        diviml.serve("llama3-8b", "cluster-3srv", tpot_ms=0)
    with pytest.raises(diviml.InputError, match="no GPUs"):
        diviml.serve("llama3-8b", "local-2cpu")
    with pytest.raises(diviml.InfeasibleError, match="least TPOT"):
        diviml.serve("llama3-8b", "cluster-3srv", tpot_ms=1, time_limit=2)


def test_a_bundled_model_is_planned_by_name_from_any_folder(diviml, tmp_path):
    """`import diviml; diviml.plan("resnet18")` in a folder that has nothing of the project's, in a
    fresh interpreter; a name that is no bundled model is refused with the list."""
    code = ("import diviml; p = diviml.plan('resnet18', 'cpu-2gpu', time_limit=2, solver='heft'); "
            "print(len(p.placements), round(p.makespan, 1))")
    r = subprocess.run([tool_cmds.PY, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    n, makespan = r.stdout.split()
    assert int(n) == len(json.loads(pathlib.Path(diviml._native.graph_path("resnet18")).read_text())["nodes"])
    assert float(makespan) > 0
    assert "resnet18" in diviml.bundled_models() and "training/gpt2.train" in diviml.bundled_models()
    with pytest.raises(diviml.InputError, match="nosuchnet: no such graph file or bundled model .*resnet18"):
        diviml.plan("nosuchnet")


@pytest.mark.parametrize("tool", ["export", "execute", "calibrate", "profile"])
def test_each_tool_runs_as_a_module(diviml, tool, tmp_path):
    r = subprocess.run([tool_cmds.PY, "-m", f"diviml.{tool}", "--help"], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith(f"usage: diviml-{tool}"), r.stdout + r.stderr


def test_the_pytorch_rwnn_is_wired_as_the_cli_generates_it(diviml, diviml_bin, tmp_path):
    """One Watts-Strogatz generator: the PyTorch RWNN of a seed has the wiring of `diviml gen rwnn`."""
    from diviml.models.rwnn import RWNN
    g = tmp_path / "rwnn.json"
    cli(diviml_bin, "gen", "rwnn", "--nodes", "12", "--stages", "2", "--k", "4", "--p", "0.75", "--seed", "7",
        "-o", g)
    doc = json.loads(g.read_text())
    model = RWNN(nodes=12, stages=2, k=4, p=0.75, channels=8, classes=10, seed=7)
    for st, stage in enumerate(model.stages):
        prefix = f"s{st + 1}.n"
        cli_preds = [sorted(int(e["src"][len(prefix):]) for e in doc["edges"]
                            if e["dst"] == f"{prefix}{v}" and e["src"].startswith(prefix))
                     for v in range(12)]
        assert [sorted(p) for p in stage.preds] == cli_preds
    assert any(stage.preds != RWNN(nodes=12, stages=2, seed=8).stages[i].preds for i, stage in enumerate(model.stages))
