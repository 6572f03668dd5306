"""Acceptance checks of the interchange contract (../shared/spec/interchange.md) through the CLI."""
import json
import subprocess

import pytest

PLAN_FIELDS = {"format", "solver", "status", "makespan_us", "lower_bound_us", "solve_time_s", "placements", "transfers"}


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)


def plan(diviml_bin, graph, platform, tmp_path, solver=None):
    out = tmp_path / "plan.json"
    args = [diviml_bin, "plan", "--graph", graph, "-o", out, "--gantt", tmp_path / "plan.svg"]
    if platform:
        args += ["--platform", platform]
    if solver:
        args += ["--solver", solver]
    r = run(*args)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text()), out


def test_heft_plan_matches_the_contract(diviml_bin, root, tmp_path):
    data = root / "tests" / "data"
    p, path = plan(diviml_bin, data / "topcuoglu.graph.json", data / "topcuoglu.platform.json", tmp_path, "heft")
    assert PLAN_FIELDS <= set(p)
    assert p["format"] == "diviml.plan/1"
    assert p["solver"] == "heft" and p["status"] in ("optimal", "feasible", "heuristic")
    assert p["makespan_us"] == pytest.approx(80.0)
    assert 0 <= p["lower_bound_us"] <= p["makespan_us"]
    assert len(p["placements"]) == 10
    for pl in p["placements"]:
        assert {"node", "device", "start_us", "end_us"} <= set(pl)
    assert max(pl["end_us"] for pl in p["placements"]) == pytest.approx(p["makespan_us"])
    for t in p["transfers"]:
        assert {"src", "dst", "from", "to", "start_us", "end_us", "bytes"} <= set(t)
        assert t["from"] != t["to"]
    assert (tmp_path / "plan.svg").read_text().startswith("<svg")
    r = run(diviml_bin, "validate", "--graph", data / "topcuoglu.graph.json",
            "--platform", data / "topcuoglu.platform.json", path)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("model", ["resnet18", "googlenet", "inception_v3", "mobilenet_v2"])
@pytest.mark.parametrize("solver", ["auto", "fastest", "heft"])
def test_bundled_models_plan_and_validate_on_the_default_platform(diviml_bin, root, tmp_path, model, solver):
    graph = root / "models" / f"{model}.json"
    p, path = plan(diviml_bin, graph, None, tmp_path, solver)
    assert p["platform"] == "cpu-2gpu"
    assert p["lower_bound_us"] <= p["makespan_us"]
    r = run(diviml_bin, "validate", "--graph", graph, path)
    assert r.returncode == 0, r.stderr


def test_validate_rejects_a_tampered_plan_with_one_line(diviml_bin, root, tmp_path):
    data = root / "tests" / "data"
    p, path = plan(diviml_bin, data / "topcuoglu.graph.json", data / "topcuoglu.platform.json", tmp_path, "heft")
    last = max(p["placements"], key=lambda x: x["start_us"])
    last["start_us"] -= 5
    last["end_us"] -= 5
    p["makespan_us"] -= 5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(p))
    r = run(diviml_bin, "validate", "--graph", data / "topcuoglu.graph.json",
            "--platform", data / "topcuoglu.platform.json", bad)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("diviml: error: ") and "n10" in lines[0]


def test_auto_is_never_worse_than_fastest(diviml_bin, root, tmp_path):
    for model in ["resnet18", "googlenet", "mobilenet_v2"]:
        graph = root / "models" / f"{model}.json"
        a, _ = plan(diviml_bin, graph, None, tmp_path, "auto")
        f, _ = plan(diviml_bin, graph, None, tmp_path, "fastest")
        assert a["makespan_us"] <= f["makespan_us"] + 1e-9


def test_platforms_lists_bundled(diviml_bin):
    r = run(diviml_bin, "platforms")
    assert r.returncode == 0
    assert "cpu-2gpu" in r.stdout and "cluster-3srv" in r.stdout


def test_cluster_platform_plans(diviml_bin, root, tmp_path):
    graph = root / "models" / "googlenet.json"
    p, path = plan(diviml_bin, graph, "cluster-3srv", tmp_path, "heft")
    assert p["platform"] == "cluster-3srv"
    r = run(diviml_bin, "validate", "--graph", graph, "--platform", "cluster-3srv", path)
    assert r.returncode == 0, r.stderr


def test_verbose_reports_progress_on_stderr(diviml_bin, root, tmp_path):
    # --verbose: the solve context's progress events, one line each, the last one "done" with the
    # plan's value and bound; stdout keeps the table.
    r = run(diviml_bin, "plan", "-g", root / "models" / "resnet18.json", "-s", "auto", "-v", "-o", tmp_path / "p.json")
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.startswith("progress ")]
    assert any(": auto: " in l for l in lines), r.stderr
    assert lines[-1].split(": ", 2)[2].startswith("done (best "), lines[-1]
    plan = json.loads((tmp_path / "p.json").read_text())
    assert f"best {plan['makespan_us']:.3f}" in lines[-1]


def test_options_lists_the_registry(diviml_bin):
    r = run(diviml_bin, "options")
    assert r.returncode == 0, r.stderr
    for name in ("--time-limit", "--module-size", "--auto-milp-pairs", "--bound-lp-time"):
        assert name in r.stdout
    r = run(diviml_bin, "plan", "-g", "x.json", "-o", "y.json", "--cut-slack", "2")
    assert r.returncode == 2
    assert r.stderr == "diviml: error: --cut-slack: '2' is out of range [0, 1] (see diviml --help)\n"


def test_gantt_draws_any_plan_file_and_refuses_bad_ones_in_one_line(diviml_bin, root, tmp_path):
    data = root / "tests" / "data"
    graph, platform = data / "topcuoglu.graph.json", data / "topcuoglu.platform.json"
    p, path = plan(diviml_bin, graph, platform, tmp_path, "heft")
    # A measured timeline need not match the cost model: stretch every op, still drawn.
    for x in p["placements"]:
        x["end_us"] += 3.0
    path.write_text(json.dumps(p))
    svg = tmp_path / "t.svg"
    r = run(diviml_bin, "gantt", "-g", graph, "-p", platform, path, "-o", svg)
    assert r.returncode == 0, r.stderr
    assert svg.read_text().startswith("<svg") and "10 ops" in r.stdout
    p["placements"][0]["node"] = "ghost"
    path.write_text(json.dumps(p))
    r = run(diviml_bin, "gantt", "-g", graph, "-p", platform, path, "-o", svg)
    assert r.returncode != 0 and "ghost" in r.stderr and str(path) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run(diviml_bin, "gantt", "-g", graph, "-p", platform, tmp_path / "nope.json", "-o", svg)
    assert r.returncode != 0 and "nope.json" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_latency_plans_report_each_devices_peak_memory(diviml_bin, root, tmp_path):
    # Extension (issue 13): peak_memory_bytes per device, at least its resident weights and
    # state, and at least the largest tensor an op there makes.
    graph = tmp_path / "gpt.json"
    r = run(diviml_bin, "gen", "transformer", "--layers", "2", "--d-model", "64", "--heads", "2", "--seq", "16",
            "--vocab", "100", "-o", graph)
    assert r.returncode == 0, r.stderr
    g = json.loads(graph.read_text())
    assert sum(n.get("state_bytes", 0) for n in g["nodes"]) == 2 * 2 * 16 * 64 * 2  # the KV cache
    p, _ = plan(diviml_bin, graph, "cpu-2gpu", tmp_path, "heft")
    peak = p["peak_memory_bytes"]
    assert set(peak) == {"cpu", "gpu0", "gpu1"}
    where = {x["node"]: x["device"] for x in p["placements"]}
    for d in peak:
        nodes = [n for n in g["nodes"] if where[n["id"]] == d]
        resident = sum(n.get("param_bytes", 0) + n.get("state_bytes", 0) for n in nodes)
        assert peak[d] >= resident
        if nodes:
            assert peak[d] >= resident + max(n.get("output_bytes", 0) for n in nodes)


def test_dash_is_stdin_and_stdout_and_messages_move_to_stderr(diviml_bin, root, tmp_path):
    """`-` where a file is read or written: a pipe gen | plan | validate, ONNX from stdin."""
    gen = subprocess.run([str(diviml_bin), "gen", "rwnn", "--nodes", "12", "--stages", "2", "-o", "-"],
                         capture_output=True, text=True, timeout=60)
    assert gen.returncode == 0, gen.stderr
    graph = json.loads(gen.stdout)  # the file alone on stdout
    assert "nodes" in graph and "standard output" in gen.stderr
    planned = subprocess.run([str(diviml_bin), "plan", "-g", "-", "-o", "-"], input=gen.stdout, capture_output=True,
                             text=True, timeout=120)
    assert planned.returncode == 0, planned.stderr
    p = json.loads(planned.stdout)
    assert PLAN_FIELDS <= set(p) and "makespan_us" in planned.stderr  # the summary table went to stderr
    (tmp_path / "g.json").write_text(gen.stdout)
    checked = subprocess.run([str(diviml_bin), "validate", "-g", tmp_path / "g.json", "-"], input=planned.stdout,
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and checked.stdout.startswith("<stdin>: valid plan"), checked.stderr
    both = subprocess.run([str(diviml_bin), "plan", "-g", "-", "-p", "-", "-o", tmp_path / "x.json"], input=gen.stdout,
                          capture_output=True, text=True, timeout=60)
    assert both.returncode == 2 and "only one input can come from standard input" in both.stderr
    onnx = (root / "tests" / "data" / "onnx" / "small_cnn.onnx").read_bytes()
    imported = subprocess.run([str(diviml_bin), "import", "-", "-o", "-"], input=onnx, capture_output=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert len(json.loads(imported.stdout)["nodes"]) == 5


def test_every_command_has_examples_and_a_version(diviml_bin):
    for cmd in (["plan"], ["compare"], ["validate"], ["gantt"], ["platforms"], ["options"], ["costs"], ["import"],
                ["gen"], ["gen", "rwnn"], ["gen", "transformer"], ["gen", "random"], ["gen", "chain"], []):
        r = run(diviml_bin, *cmd, "--help")
        assert r.returncode == 0 and "Example" in r.stdout, (cmd, r.stdout[-300:])
    r = run(diviml_bin, "--version")
    assert r.returncode == 0 and r.stdout.startswith("diviml ")


def test_compare_json_is_one_object_per_solver(diviml_bin, root):
    data = root / "tests" / "data"
    r = run(diviml_bin, "compare", "-g", data / "topcuoglu.graph.json", "-p", data / "topcuoglu.platform.json",
            "--solvers", "fastest,heft,milp", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["objective"] == "latency" and [s["solver"] for s in doc["solvers"]] == ["fastest", "heft", "milp"]
    for s in doc["solvers"]:
        assert s["status"] in ("optimal", "feasible", "heuristic") and s["makespan_us"] >= s["lower_bound_us"] - 1e-6
        assert 0 <= s["gap"] <= 1
    assert doc["solvers"][0]["speedup"] == 1.0


@pytest.mark.parametrize("flag", ["--time-limit", "--threads", "--solver", "--objective", "--platform", "--bogus"])
def test_a_newline_in_an_option_value_is_one_line(diviml_bin, root, tmp_path, flag):
    r = subprocess.run([str(diviml_bin), "plan", "-g", str(root / "models" / "resnet18.json"), flag, "1\n2\x00x"[:3] + "\n",
                        "-o", str(tmp_path / "p.json")], capture_output=True, text=True, timeout=60)
    assert r.returncode in (1, 2), r.stderr
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("diviml: error: "), r.stderr


def test_a_throughput_plan_claiming_a_million_lanes_is_refused_before_it_allocates(diviml_bin, root, tmp_path):
    plan = tmp_path / "p.json"
    r = subprocess.run([str(diviml_bin), "plan", "-g", str(root / "models" / "resnet18.json"), "--objective",
                        "throughput", "-s", "fastest", "-o", str(plan), "-q"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(plan.read_text())
    doc["lanes"] = 1000000
    plan.write_text(json.dumps(doc))
    for cmd in (["validate"], ["gantt", "-o", str(tmp_path / "g.svg")]):
        r = subprocess.run(["prlimit", "--as=1000000000", str(diviml_bin), *cmd, "-g", str(root / "models" / "resnet18.json"),
                            str(plan)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1, (cmd, r.stderr)
        assert "field 'lanes' is 1000000 but the plan places" in r.stderr, r.stderr
