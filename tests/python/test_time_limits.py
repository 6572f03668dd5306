"""A time limit is a promise: every solver returns its best plan within --time-limit + 10%.

The promise is checked on the plan's solve_time_s (everything between reading the files and
writing the plan) and, from outside, on the wall time of the whole command with a second for
reading, writing and process start-up; on a 300-node random DAG, on the 3-device default platform and on a 64-device platform, where
split's pinned solves (64 x 64 boundary pairs per module) and the MILP (millions of rows) cannot
finish. The figures the suite saw are in docs/results.md ("Time limits").
"""
import json
import subprocess
import time

import pytest

LIMIT_S = 3.0
SLACK = 1.10
# Reading the graph, writing the plan, starting and ending the process: outside the promise.
IO_S = 1.0


def generated(diviml_bin, tmp_path_factory, name, *gen):
    path = tmp_path_factory.mktemp("tl") / name
    subprocess.run([diviml_bin, "gen", *gen, "-o", str(path)], check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def big_graph(diviml_bin, tmp_path_factory):
    return generated(diviml_bin, tmp_path_factory, "r300.json", "random", "--nodes", "300", "--edge-prob", "0.02",
                     "--seed", "3")


@pytest.mark.parametrize("platform", ["cpu-2gpu", "wide64"])
@pytest.mark.parametrize("solver", ["auto", "split", "milp", "bnb"])
def test_solver_keeps_its_time_limit(diviml_bin, root, big_graph, tmp_path, solver, platform):
    if platform == "wide64":
        platform = str(root / "tests" / "data" / "wide64.platform.json")
    out = tmp_path / "plan.json"
    t0 = time.monotonic()
    r = subprocess.run([diviml_bin, "plan", "-g", str(big_graph), "-p", platform, "-s", solver, "--time-limit", str(LIMIT_S),
                        "-q", "-o", str(out)], capture_output=True, text=True, timeout=120)
    wall = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    plan = json.loads(out.read_text())
    assert plan["status"] in ("feasible", "optimal", "heuristic")
    assert plan["solve_time_s"] <= LIMIT_S * SLACK
    assert wall <= LIMIT_S * SLACK + IO_S, f"{solver} on {platform}: {wall:.2f} s for a {LIMIT_S} s limit"


@pytest.fixture(scope="module")
def rwnn_graph(diviml_bin, tmp_path_factory):
    return generated(diviml_bin, tmp_path_factory, "rwnn4.json", "rwnn", "--nodes", "32", "--stages", "4", "--seed", "1")


@pytest.mark.parametrize("solver", ["auto", "split", "milp"])
def test_time_limits_hold_while_another_process_keeps_a_core_busy(diviml_bin, big_graph, rwnn_graph, tmp_path, solver):
    """Issue 43: with a CPU-bound process beside the solve (the machine's other work), the limit
    still holds: solve_time_s within limit + 10%, the whole command within limit + 10% + 0.5 s."""
    import sys
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        for graph in (big_graph, rwnn_graph):
            out = tmp_path / "plan.json"
            t0 = time.monotonic()
            r = subprocess.run([diviml_bin, "plan", "-g", str(graph), "-s", solver, "--time-limit", "2", "-q",
                                "-o", str(out)], capture_output=True, text=True, timeout=120)
            wall = time.monotonic() - t0
            assert r.returncode == 0, r.stderr
            plan = json.loads(out.read_text())
            assert plan["solve_time_s"] <= 2 * SLACK, (solver, graph.name, plan["solve_time_s"])
            assert wall <= 2 * SLACK + 0.5, f"{solver} on {graph.name} beside a busy process: {wall:.2f} s for 2 s"
    finally:
        busy.kill()
        busy.wait()
