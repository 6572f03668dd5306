"""The plan executor: real processes (gloo over loopback), outputs against the unsplit model."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import tool_cmds

torch = pytest.importorskip("torch")

HERE = pathlib.Path(__file__).resolve().parent
PY = sys.executable
CALIBRATE, EXECUTE, EXPORT = tool_cmds.CALIBRATE, tool_cmds.EXECUTE, tool_cmds.EXPORT


def run(cmd, **kw):
    env = tool_cmds.env()
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, env=env, **kw)


def export(root, tmp_path, model, shape=None, name="graph.json"):
    out = tmp_path / name
    src = ["--torchvision", model] if "." not in model and ":" not in model else ["--module", model]
    r = run([*EXPORT, *src, *(["--input-shape", shape] if shape else []), "-o", out])
    assert r.returncode == 0, r.stderr
    return src + (["--input-shape", shape] if shape else []), out


def plan(diviml_bin, graph, platform, tmp_path, solver="auto"):
    out = tmp_path / f"{solver}.plan.json"
    r = run([diviml_bin, "plan", "-g", graph, "-p", platform, "-s", solver, "--time-limit", "5", "-o", out, "-q"])
    assert r.returncode == 0, r.stderr
    return out


def alternate(plan_path, devices, tmp_path, name="alternating.plan.json"):
    """The plan with its ops dealt to `devices` in turn, in start order (a valid order: starts
    of a one-device plan are a topological order): a transfer on nearly every edge."""
    p = json.loads(plan_path.read_text())
    for i, x in enumerate(sorted(p["placements"], key=lambda x: x["start_us"])):
        x["device"] = devices[i % len(devices)]
    out = tmp_path / name
    out.write_text(json.dumps(p))
    return out


def execute(root, src, graph, platform, plan_path, tmp_path, *extra):
    report = tmp_path / "report.json"
    r = run([*EXECUTE, *src, "-g", graph, "-p", platform, "--plan", plan_path,
             "--runs", "3", "--warmup", "1", "--report", report, *extra])
    return r, (json.loads(report.read_text()) if r.returncode == 0 else None)


def test_resnet18_on_two_local_processes_is_bit_exact(diviml_bin, root, tmp_path):
    src, graph = export(root, tmp_path, "resnet18")
    platform = root / "platforms" / "local-2cpu.json"
    p = plan(diviml_bin, graph, platform, tmp_path)
    timeline = tmp_path / "timeline.json"
    r, rep = execute(root, src, graph, platform, p, tmp_path, "--timeline", timeline)
    assert r.returncode == 0, r.stderr
    assert rep["devices"] == ["cpu0", "cpu1"] and rep["transfers_per_run"] > 0
    assert rep["max_abs_diff"] == 0.0
    assert rep["runs"] == 3 and rep["measured_median_us"] > 0
    planned = json.loads(p.read_text())
    assert rep["predicted_us"] == pytest.approx(planned["makespan_us"])
    assert "max_abs_diff 0" in r.stdout
    assert set(rep["per_device"]) == {"cpu0", "cpu1"}
    assert all(b["compute_us"] > 0 for b in rep["per_device"].values())
    # The measured timeline: every op where the plan put it, in the plan's order per device,
    # within the run, and every crossing edge of the plan as a transfer that ends after its
    # producer started and before its consumer ended.
    t = json.loads(timeline.read_text())
    got = {x["node"]: x for x in t["placements"]}
    assert set(got) == {x["node"] for x in planned["placements"]}
    for d in ("cpu0", "cpu1"):
        plan_order = [x["node"] for x in sorted(planned["placements"], key=lambda x: x["start_us"]) if x["device"] == d]
        run_order = [x["node"] for x in sorted(t["placements"], key=lambda x: x["start_us"]) if x["device"] == d]
        assert run_order == plan_order
    assert all(0 <= x["start_us"] <= x["end_us"] <= t["makespan_us"] for x in t["placements"])
    assert {(x["src"], x["dst"]) for x in t["transfers"]} == {(x["src"], x["dst"]) for x in planned["transfers"]}
    for x in t["transfers"]:
        assert got[x["src"]]["start_us"] <= x["start_us"] <= x["end_us"] <= got[x["dst"]]["end_us"]
    # It draws like a plan (the same Gantt renderer).
    svg = tmp_path / "measured.svg"
    g = run([diviml_bin, "gantt", "-g", graph, "-p", platform, timeline, "-o", svg])
    assert g.returncode == 0, g.stderr
    assert svg.read_text().startswith("<svg") and "measured: auto plan" in svg.read_text()
    # ... and opens as a Chrome trace and an HTML report beside the plan's own.
    g = run([diviml_bin, "gantt", "-g", graph, "-p", platform, timeline, "--trace", tmp_path / "m.trace.json",
             "--html", tmp_path / "m.html"])
    assert g.returncode == 0, g.stderr
    trace = json.loads((tmp_path / "m.trace.json").read_text())
    assert {e["args"]["node"] for e in trace["traceEvents"] if e["ph"] == "X" and e["cat"] != "copy"} == set(got)
    assert trace["otherData"]["solver"].startswith("measured: ")
    html = (tmp_path / "m.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "measured: auto plan" in html


@pytest.mark.parametrize("model,shape", [("googlenet", None), ("tiny_models:gpt2_tiny", "1,16,64"),
                                         ("rwnn:rwnn_small", "1,3,64,64"), ("tiny_models:two_heads", "1,3,8,8")])
def test_alternating_plans_cross_devices_at_nearly_every_edge_and_stay_exact(diviml_bin, root, tmp_path, model, shape):
    # Inception branches (GoogLeNet), attention and LayerNorm (a GPT-2-shaped decoder), a
    # randomly wired network (python/rwnn.py), a tuple output split across devices (chunk, then
    # getitem).
    src, graph = export(root, tmp_path, model, shape)
    platform = root / "platforms" / "local-2cpu.json"
    p = alternate(plan(diviml_bin, graph, platform, tmp_path, "fastest"), ["cpu0", "cpu1"], tmp_path)
    r, rep = execute(root, src, graph, platform, p, tmp_path)
    assert r.returncode == 0, r.stderr
    nodes = len(json.loads(graph.read_text())["nodes"])
    assert rep["transfers_per_run"] >= nodes // 2
    assert rep["max_abs_diff"] == 0.0


def test_a_gpu_plan_runs_on_cpu_processes_only_when_asked(diviml_bin, root, tmp_path):
    src, graph = export(root, tmp_path, "tiny_models:branchy", "1,3,8,8")
    platform = root / "platforms" / "cpu-2gpu.json"
    p = alternate(plan(diviml_bin, graph, platform, tmp_path, "fastest"), ["cpu", "gpu0", "gpu1"], tmp_path)
    r, _ = execute(root, src, graph, platform, p, tmp_path)
    assert r.returncode == 2 and "device 'gpu0' is a 'gpu'" in r.stderr and "--all-cpu" in r.stderr
    r, rep = execute(root, src, graph, platform, p, tmp_path, "--all-cpu")
    assert r.returncode == 0, r.stderr
    assert rep["devices"] == ["cpu", "gpu0", "gpu1"] and rep["max_abs_diff"] == 0.0


def test_bad_input_gets_one_line_and_status_2(diviml_bin, root, tmp_path):
    src, graph = export(root, tmp_path, "tiny_models:branchy", "1,3,8,8")
    platform = root / "platforms" / "local-2cpu.json"
    good = plan(diviml_bin, graph, platform, tmp_path, "fastest")
    p = json.loads(good.read_text())
    cases = {}
    missing = dict(p, placements=p["placements"][1:])
    cases["no placement"] = (missing, f"graph node '{p['placements'][0]['node']}' has no placement")
    foreign = dict(p, placements=[dict(x, device="tpu9") if i == 0 else x for i, x in enumerate(p["placements"])])
    cases["unknown device"] = (foreign, "which platform 'local-2cpu' lacks")
    extra = dict(p, placements=p["placements"] + [dict(p["placements"][0], node="ghost")])
    cases["extra node"] = (extra, "node 'ghost' is not in the graph")
    twice = dict(p, placements=p["placements"] + [dict(p["placements"][0], device="cpu1")])
    cases["a node placed twice"] = (twice, f"node '{p['placements'][0]['node']}' is placed twice")
    for name, (doc, message) in cases.items():
        bad = tmp_path / "bad.plan.json"
        bad.write_text(json.dumps(doc))
        r, _ = execute(root, src, graph, platform, bad, tmp_path)
        assert r.returncode == 2, name
        assert message in r.stderr, (name, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, (name, r.stderr)
    # A graph of another model.
    _, other = export(root, tmp_path, "tiny_models:two_heads", "1,3,8,8", "other.json")
    r, _ = execute(root, src, other, platform, good, tmp_path)
    assert r.returncode == 2 and "do not match" in r.stderr
    r, _ = execute(root, src, graph, platform, tmp_path / "nope.json", tmp_path)
    assert r.returncode == 2 and "nope.json: cannot read the plan" in r.stderr


def test_calibrate_measures_the_processes_and_their_link_and_the_plan_runs_on_it(diviml_bin, root, tmp_path):
    src, graph = export(root, tmp_path, "tiny_models:branchy", "1,3,8,8")
    g_out, p_out = tmp_path / "measured.json", tmp_path / "local.json"
    r = run([*CALIBRATE, *src[:2], "--graph", graph, "--graph-out", g_out,
             "--platform-out", p_out, "--repeats", "3", "--warmup", "1"])
    assert r.returncode == 0, r.stderr
    g, p = json.loads(g_out.read_text()), json.loads(p_out.read_text())
    assert all(set(n["cost_us"]) == {"cpu0", "cpu1"} and min(n["cost_us"].values()) > 0 for n in g["nodes"])
    assert g["source"]["profile"]["method"] == "executor"
    assert [d["name"] for d in p["devices"]] == ["cpu0", "cpu1"] and p["host"] == "cpu0"
    link = p["links"][0]
    assert (link["a"], link["b"]) == ("cpu0", "cpu1") and link["bandwidth_gbps"] > 0 and link["latency_us"] >= 0
    assert len(link["measured_points_bytes_us"]) == 6
    # Copies occupy the devices exactly when the sender was measured busy for half of one.
    occupied = link["sender_busy_share"] >= 0.5
    assert all(d.get("overlap_comm", True) is not occupied for d in p["devices"])
    plan_path = alternate(plan(diviml_bin, g_out, p_out, tmp_path, "fastest"), ["cpu0", "cpu1"], tmp_path)
    r, rep = execute(root, src, g_out, p_out, plan_path, tmp_path)
    assert r.returncode == 0, r.stderr
    assert rep["max_abs_diff"] == 0.0 and rep["transfers_per_run"] > 0


def test_both_in_pass_op_timers_charge_every_op(root, tmp_path):
    from diviml.execute import measure
    from diviml.profile import ops as profile_ops
    import tiny_models
    model = tiny_models.branchy().eval()
    x = torch.randn(1, 3, 8, 8)
    _, graph = export(root, tmp_path, "tiny_models:branchy", "1,3,8,8")
    g = json.loads(graph.read_text())
    ids = {n["id"] for n in g["nodes"]}
    seq = profile_ops.profile_in_sequence(model, x, g, torch.device("cpu"), 1, 5)
    loop = measure.op_costs_in_executor_loop(model, x, g, 1, 5)
    assert set(seq) == ids and set(loop) == ids
    assert min(seq.values()) > 0 and min(loop.values()) > 0


def test_the_link_fit_recovers_latency_and_bandwidth():
    from diviml.profile import calibrate
    points = [(x, 40.0 + x / 5e3) for x in calibrate.SIZES]  # 40 us + bytes / (5 GB/s)
    latency, bandwidth = calibrate.fit(points)
    assert latency == pytest.approx(40.0) and bandwidth == pytest.approx(5.0)


def test_a_device_process_that_fails_mid_run_ends_every_process_with_one_line(diviml_bin, root, tmp_path):
    src, graph = export(root, tmp_path, "tiny_models:trapped", "1,3,8,8")
    assert "trap" in {n["op"] for n in json.loads(graph.read_text())["nodes"]}
    platform = root / "platforms" / "local-2cpu.json"
    p = json.loads(plan(diviml_bin, graph, platform, tmp_path, "fastest").read_text())
    for x in p["placements"]:
        x["device"] = "cpu1" if x["node"].startswith("trap") else "cpu0"
    bad = tmp_path / "trap.plan.json"
    bad.write_text(json.dumps(p))
    r, _ = execute(root, src, graph, platform, bad, tmp_path, "--timeout", "60")
    assert r.returncode == 2, r.stderr
    assert "device 'cpu1' (rank 1): RuntimeError: trap sprung on rank 1" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_messages_taken_in_their_senders_order_as_nccl_needs_stay_exact(diviml_bin, root, tmp_path):
    # --transport ordered: every receiver takes its sender's messages in the order they are sent
    # (what NCCL's untagged point-to-point needs), keeping those that come before the one it
    # needs. Dealing an RWNN's ops to two processes makes receivers need them out of that order.
    src, graph = export(root, tmp_path, "rwnn:rwnn_small", "1,3,64,64")
    platform = root / "platforms" / "local-2cpu.json"
    p = alternate(plan(diviml_bin, graph, platform, tmp_path, "fastest"), ["cpu0", "cpu1"], tmp_path)
    r, rep = execute(root, src, graph, platform, p, tmp_path, "--transport", "ordered")
    assert r.returncode == 0, r.stderr
    assert rep["max_abs_diff"] == 0.0 and rep["outputs_match"] and rep["transport"] == "ordered"
    assert rep["messages_taken_ahead"] > 0


def throughput_plan(diviml_bin, graph, platform, tmp_path):
    out = tmp_path / "tp.plan.json"
    r = run([diviml_bin, "plan", "-g", graph, "-p", platform, "--objective", "throughput", "--time-limit", "5",
             "-o", out, "-q"])
    assert r.returncode == 0, r.stderr
    return out


def stream(root, src, graph, platform, plan_path, tmp_path, *extra):
    report = tmp_path / "stream.json"
    r = run([*EXECUTE, *src, "-g", graph, "-p", platform, "--plan", plan_path,
             "--report", report, *extra])
    return r, (json.loads(report.read_text()) if r.returncode == 0 else None)


def test_a_throughput_plan_streams_exact_outputs_paced_and_unpaced(diviml_bin, root, tmp_path):
    src, graph = export(root, tmp_path, "rwnn:rwnn_small", "1,3,64,64")
    platform = root / "platforms" / "local-2cpu.json"
    out = throughput_plan(diviml_bin, graph, platform, tmp_path)
    planned = json.loads(out.read_text())
    for pace in ([], ["--no-pace"]):
        r, rep = stream(root, src, graph, platform, out, tmp_path, *pace)
        assert r.returncode == 0, r.stderr
        assert rep["objective"] == "throughput" and rep["paced"] == (not pace)
        assert rep["lanes"] == planned["lanes"] and rep["inputs"] == rep["rounds"] * rep["lanes"]
        assert rep["rounds"] == rep["max_delay_rounds"] + 12
        assert rep["max_abs_diff"] == 0.0 and rep["outputs_match"]
        assert rep["predicted_per_s"] == pytest.approx(1e6 / planned["period_us"])
        assert rep["measured_per_s"] > 0 and rep["measured_latency_median_us"] > 0
        assert set(rep["per_device"]) == set(rep["devices"])
        assert "inputs/s" in r.stdout


def test_a_two_lane_stream_with_delays_and_transfers_both_ways_stays_exact(diviml_bin, root, tmp_path):
    # Lane 0 on cpu0; lane 1 (injected at the period, 500 us into the round) deals its ops to
    # cpu1 and cpu0 in turn, each op one round after the one before (delay = its position): a
    # modulo schedule whose tasks work on inputs of many rounds at once, tensors crossing both
    # ways.
    src, graph = export(root, tmp_path, "tiny_models:branchy", "1,3,8,8")
    platform = root / "platforms" / "local-2cpu.json"
    base = json.loads(plan(diviml_bin, graph, platform, tmp_path, "fastest").read_text())
    order = [x["node"] for x in sorted(base["placements"], key=lambda x: x["start_us"])]
    placements = [{"node": n, "device": "cpu0", "lane": 0, "start_us": i, "end_us": i + 0.5}
                  for i, n in enumerate(order)]
    placements += [{"node": n, "device": ["cpu1", "cpu0"][i % 2], "lane": 1, "delay": i, "start_us": 500 + i,
                    "end_us": 500.5 + i} for i, n in enumerate(order)]
    p = {"format": "diviml.plan/1", "solver": "hand-made", "status": "heuristic", "objective": "throughput",
         "period_us": 500.0, "lanes": 2, "latency_us": 0.0, "makespan_us": 0.0, "lower_bound_us": 0.0,
         "placements": placements, "transfers": []}
    path = tmp_path / "two-lane.plan.json"
    path.write_text(json.dumps(p))
    r, rep = stream(root, src, graph, platform, path, tmp_path, "--no-pace")
    assert r.returncode == 0, r.stderr
    assert rep["max_delay_rounds"] == len(order) - 1 and rep["max_abs_diff"] == 0.0
    assert rep["transfers_per_round"] >= 3
    # Too few rounds to measure a steady state, a lane the plan lacks: one line, status 2.
    r, _ = stream(root, src, graph, platform, path, tmp_path, "--rounds", "3")
    assert r.returncode == 2 and "needs at least" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    bad = dict(p, placements=placements + [dict(placements[0], lane=5)])
    path.write_text(json.dumps(bad))
    r, _ = stream(root, src, graph, platform, path, tmp_path)
    assert r.returncode == 2 and "lane 5" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def family(root_pids):
    """The processes under `root_pids` (and themselves)."""
    pids, grew = set(root_pids), True
    while grew:
        grew = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in pids:
                continue
            try:
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid in pids:
                pids.add(int(entry))
                grew = True
    return pids


def sockets_of(pids, listening, connected):
    """Adds the local addresses of the TCP sockets of `pids` that `ss` lists, by state."""
    import re
    out = subprocess.run(["ss", "-H", "-tanp"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        owner = re.search(r"pid=(\d+)", line)
        if not owner or int(owner.group(1)) not in pids:
            continue
        state, local = line.split()[0], line.split()[3].rsplit(":", 1)[0]
        (listening if state == "LISTEN" else connected).add(local)


LOOPBACK = {"127.0.0.1", "[::1]", "::1", "[::ffff:127.0.0.1]"}


def test_nothing_listens_beyond_loopback(diviml_bin, root, tmp_path):
    """While the executor runs, every socket of its processes is on loopback: any it listens on
    (gloo's pair sockets, briefly, while they meet; the rendezvous is a file store, not a TCP store
    on every interface) and every connection it holds. `ss` lists them (issue 35)."""
    import shutil
    import time
    if shutil.which("ss") is None:
        pytest.fail("ss (iproute2) is needed to list the sockets")
    src, graph = export(root, tmp_path, "resnet18")
    platform = root / "platforms" / "local-2cpu.json"
    p = plan(diviml_bin, graph, platform, tmp_path)
    env = tool_cmds.env()
    proc = subprocess.Popen([*EXECUTE, *src, "-g", str(graph), "-p", str(platform),
                             "--plan", str(p), "--runs", "100", "--warmup", "1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        listening, connected = set(), set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and len(connected) < 2:
            sockets_of(family({proc.pid}), listening, connected)
            time.sleep(0.02)
        assert connected, "the executor's processes never connected"
        assert listening <= LOOPBACK, listening
        assert connected <= LOOPBACK, connected
    finally:
        for pid in family({proc.pid}):  # the device processes too: killing the parent leaves them running
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        proc.wait()


# --- Across servers: one node per server (issue 44). Three nodes of cluster-3srv on this
# machine, each a separate launch on 127.0.0.1 (ours, or torchrun's), every device a CPU process.

def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def across_servers(plan_path, tmp_path, name="across.plan.json"):
    """The plan with its ops dealt in start order to a device of each server in turn: nearly every
    edge crosses servers, the skip connections included."""
    return alternate(plan_path, ["s0.cpu", "s1.gpu0", "s2.cpu", "s0.gpu1", "s1.cpu", "s2.gpu1"], tmp_path, name)


def start_nodes(root, src, graph, plans, tmp_path, *extra, torchrun=False, timeout=60):
    """One launch per node (plans[i] for node i; None: that node never starts)."""
    import time
    port, procs = free_port(), []
    platform = root / "platforms" / "cluster-3srv.json"
    for i, p in enumerate(plans):
        if p is None:
            continue
        args = [*src, "-g", graph, "-p", platform, "--plan", p, "--all-cpu",
                "--timeout", timeout, "--report", tmp_path / f"node{i}.json", *extra]
        if torchrun:  # Debian's torchrun on Python 3.11 needs --redirects/--tee of 1 or 2 (docs/executor.md)
            cmd = ["torchrun", "--nnodes", len(plans), "--node_rank", i, "--nproc_per_node", 1, "--redirects", 2,
                   "--tee", 2, "--log_dir", tmp_path / f"torchrun{i}", "--rdzv_endpoint", f"127.0.0.1:{port}", "-m", "diviml.execute", *args]
        else:
            cmd = [*EXECUTE, *args, "--nnodes", len(plans), "--node-rank", i, "--rdzv-endpoint", f"127.0.0.1:{port}"]
        procs.append((i, subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True, env=tool_cmds.env())))
    return procs, time.monotonic()


def finish_nodes(procs):
    import time
    out = {}
    for i, p in procs:
        o, e = p.communicate(timeout=300)
        out[i] = (p.returncode, o, e, time.monotonic())
    return out


def crossing(plan_path, platform, graph):
    """Edges of the graph whose ends the plan puts on different servers."""
    server = {d["name"]: d["server"] for d in json.loads(platform.read_text())["devices"]}
    where = {x["node"]: x["device"] for x in json.loads(plan_path.read_text())["placements"]}
    edges = json.loads(graph.read_text())["edges"]
    return [e for e in edges if server[where[e["src"]]] != server[where[e["dst"]]]]


@pytest.mark.parametrize("model,shape,launcher", [("resnet18", None, "ours"), ("googlenet", None, "torchrun"),
                                                  ("tiny_models:gpt2_tiny", "1,16,64", "ours")])
def test_three_nodes_run_a_plan_across_servers_bit_exact(diviml_bin, root, tmp_path, model, shape, launcher):
    import shutil
    import time
    src, graph = export(root, tmp_path, model, shape)
    platform = root / "platforms" / "cluster-3srv.json"
    p = across_servers(plan(diviml_bin, graph, platform, tmp_path, "fastest"), tmp_path)
    timeline = tmp_path / "timeline.json"
    procs, t0 = start_nodes(root, src, graph, [p, p, p], tmp_path, "--runs", "3", "--warmup", "1", "--timeline",
                            timeline, torchrun=launcher == "torchrun")
    listening, connected = set(), set()
    if launcher == "ours" and shutil.which("ss"):  # every socket of every node on loopback, while they run
        while any(q.poll() is None for _, q in procs) and time.monotonic() < t0 + 120:
            sockets_of(family({q.pid for _, q in procs}), listening, connected)
            time.sleep(0.02)
    res = finish_nodes(procs)
    for i, (rc, out, err, _) in res.items():
        assert rc == 0, (i, err)
    assert "ran their part; the report is on node 0 (server 's0')" in res[1][1]
    rep = json.loads((tmp_path / "node0.json").read_text())
    assert rep["max_abs_diff"] == 0.0 and rep["outputs_match"] and rep["runs"] == 3
    assert [n["server"] for n in rep["nodes"]] == ["s0", "s1", "s2"]
    assert {d for n in rep["nodes"] for d in n["devices"]} == set(rep["devices"])
    assert set(rep["per_device"]) == set(rep["devices"])
    assert len(crossing(p, platform, graph)) >= 5
    # The measured timeline, gathered at node 0: every op on the plan's device, in the run.
    t = json.loads(timeline.read_text())
    planned = {x["node"]: x["device"] for x in json.loads(p.read_text())["placements"]}
    assert {x["node"]: x["device"] for x in t["placements"]} == planned
    assert all(x["start_us"] <= x["end_us"] for x in t["placements"]) and t["transfers"]
    if launcher == "ours" and shutil.which("ss"):
        assert connected, "the nodes never connected"
        assert listening <= LOOPBACK and connected <= LOOPBACK, (listening, connected)


def test_a_throughput_plan_streams_across_three_nodes_bit_exact(diviml_bin, root, tmp_path):
    src, graph = export(root, tmp_path, "tiny_models:gpt2_tiny", "1,16,64")
    platform = root / "platforms" / "cluster-3srv.json"
    out = throughput_plan(diviml_bin, graph, platform, tmp_path)
    servers = {d["name"]: d["server"] for d in json.loads(platform.read_text())["devices"]}
    used = {servers[x["device"]] for x in json.loads(out.read_text())["placements"]}
    assert len(used) >= 2, used  # the stream crosses servers
    procs, _ = start_nodes(root, src, graph, [out, out, out], tmp_path, "--no-pace")
    res = finish_nodes(procs)
    assert all(rc == 0 for rc, *_ in res.values()), res
    rep = json.loads((tmp_path / "node0.json").read_text())
    assert rep["objective"] == "throughput" and rep["max_abs_diff"] == 0.0 and rep["outputs_match"]
    assert rep["measured_per_s"] > 0 and len(rep["nodes"]) == 3


def test_a_node_with_another_plan_is_refused_by_name_before_anything_runs(diviml_bin, root, tmp_path):
    src, graph = export(root, tmp_path, "tiny_models:branchy", "1,3,8,8")
    platform = root / "platforms" / "cluster-3srv.json"
    good = across_servers(plan(diviml_bin, graph, platform, tmp_path, "fastest"), tmp_path)
    other = json.loads(good.read_text())
    other["placements"][0]["start_us"] += 1.0
    bad = tmp_path / "other.plan.json"
    bad.write_text(json.dumps(other))
    res = finish_nodes(start_nodes(root, src, graph, [good, good, bad], tmp_path, "--runs", "3")[0])
    line = "node 2 (server 's2') was refused: its plan differs from node 0's"
    assert all(rc == 2 for rc, *_ in res.values()), res  # bad input, at every node
    for rc, out, err, _ in res.values():
        assert line in err and len(err.strip().splitlines()) == 1, err
        assert "max_abs_diff" not in out  # nothing ran


def test_a_node_killed_mid_run_ends_every_other_node_naming_it(diviml_bin, root, tmp_path):
    import signal
    import time
    src, graph = export(root, tmp_path, "tiny_models:gpt2_tiny", "1,16,64")
    platform = root / "platforms" / "cluster-3srv.json"
    p = across_servers(plan(diviml_bin, graph, platform, tmp_path, "fastest"), tmp_path)
    procs, _ = start_nodes(root, src, graph, [p, p, p], tmp_path, "--runs", "100000", timeout=120)
    victim = dict(procs)[1]
    time.sleep(0.5)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(family({victim.pid})) < 3:  # its device processes run
        time.sleep(0.1)
    time.sleep(2)
    everyone = family({q.pid for _, q in procs})
    victim.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    res = finish_nodes(procs)
    for i in (0, 2):
        rc, out, err, ended = res[i]
        assert rc == 4, (i, err)
        assert "node 1 (server 's1') stopped: no heartbeat" in err and len(err.strip().splitlines()) == 1, err
        assert ended - killed < 30
    time.sleep(1)
    alive = [pid for pid in everyone if os.path.exists(f"/proc/{pid}") and
             open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"]
    assert not alive, alive  # no process left behind, the killed node's device processes included


def test_a_rendezvous_that_never_completes_ends_within_the_timeout(diviml_bin, root, tmp_path):
    src, graph = export(root, tmp_path, "tiny_models:branchy", "1,3,8,8")
    platform = root / "platforms" / "cluster-3srv.json"
    p = across_servers(plan(diviml_bin, graph, platform, tmp_path, "fastest"), tmp_path)
    procs, t0 = start_nodes(root, src, graph, [p, p, None], tmp_path, timeout=8)
    res = finish_nodes(procs)
    for i in (0, 1):
        rc, out, err, ended = res[i]
        assert rc == 4, (i, err)
        assert "node 2 (server 's2') never joined the rendezvous at 127.0.0.1:" in err, err
        assert len(err.strip().splitlines()) == 1 and ended - t0 < 8 + 3 + 10
    # A launch that does not fit the platform: one line, status 2.
    r = run([*EXECUTE, *src, "-g", graph, "-p", platform, "--plan", p, "--all-cpu",
             "--nnodes", "2", "--node-rank", "0", "--rdzv-endpoint", f"127.0.0.1:{free_port()}"])
    assert r.returncode == 2 and "has 3 server(s) (s0, s1, s2); start one node per server" in r.stderr
    r = run([*EXECUTE, *src, "-g", graph, "-p", platform, "--plan", p, "--all-cpu",
             "--nnodes", "3", "--node-rank", "0", "--rdzv-endpoint", f"127.0.0.2:{free_port()}"])
    assert r.returncode == 2 and "give node 0 --listen 127.0.0.2" in r.stderr, r.stderr


def test_the_rendezvous_store_survives_malformed_messages():
    """The store node 0 serves reads bytes from the network: a malformed or oversized message
    closes that connection and nothing else; a well-formed client is served before and after."""
    import socket
    import struct
    import time
    from diviml.execute import nodes
    port = free_port()
    server = nodes.StoreServer("127.0.0.1", port)
    try:
        client = nodes.StoreClient("127.0.0.1", port, 5, time.monotonic() + 5)
        client.set("k", b"v")
        bad = [b"Z" + struct.pack("!I", 0),  # an unknown request
               b"S" + struct.pack("!I", 1 << 30),  # a field count past the limit
               b"S" + struct.pack("!I", 2) + struct.pack("!I", 0xFFFFFFFF),  # a field past the limit
               b"A" + struct.pack("!I", 2) + struct.pack("!I", 1) + b"k" + struct.pack("!I", 1) + b"x",  # not a number
               b"S" + struct.pack("!I", 1) + struct.pack("!I", 5000) + b"k" * 5000,  # a key too long
               b"G" + struct.pack("!I", 0),  # fields missing
               bytes(range(256)) * 4]
        for msg in bad:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                try:
                    s.sendall(msg)
                    s.shutdown(socket.SHUT_WR)
                    assert s.recv(1 << 16) == b""  # closed, no reply
                except OSError:
                    pass  # closed with bytes unread: a reset, a broken pipe, or not connected any more
        assert client.get("k") == b"v" and client.add("n", 2) == 2 and client.compare_set("k", "v", "w") == b"w"
        other = nodes.StoreClient("127.0.0.1", port, 5, time.monotonic() + 5)
        assert other.get("k") == b"w" and other.num_keys() == 2
    finally:
        server.close()


def test_a_run_whose_runs_spread_widely_says_the_machine_is_too_noisy():
    from diviml.execute.measure import spread_of
    quiet = spread_of([100.0, 101.0, 99.0, 100.5, 100.2, 99.8, 100.1, 100.0, 99.9, 100.3])
    assert not quiet["noisy"] and quiet["spread"] < 0.03
    noisy = spread_of([100.0, 130.0, 100.0, 160.0, 101.0, 100.0, 150.0, 100.0, 120.0, 100.0])
    assert noisy["noisy"] and noisy["spread"] > 0.10
    assert noisy["measured_p10_us"] == pytest.approx(100.0) and noisy["measured_p90_us"] > 150.0


def test_calibrate_writes_servers_and_measures_the_link_between_two_nodes(root, tmp_path):
    src, graph = export(root, tmp_path, "tiny_models:branchy", "1,3,8,8")
    servers = tmp_path / "servers.json"
    r = run([*CALIBRATE, *src[:2], "--graph", graph, "--graph-out", tmp_path / "g.local.json",
             "--platform-out", servers, "--processes", "1", "--servers", "3", "--repeats", "3"])
    assert r.returncode == 0, r.stderr
    plat = json.loads(servers.read_text())
    assert [(d["name"], d["server"]) for d in plat["devices"]] == [("s0.cpu0", "s0"), ("s1.cpu0", "s1"),
                                                                  ("s2.cpu0", "s2")]
    costs = json.loads((tmp_path / "g.local.json").read_text())["nodes"][0]["cost_us"]
    assert set(costs) == {"s0.cpu0", "s1.cpu0", "s2.cpu0"}
    port, out = free_port(), tmp_path / "nodes.json"
    procs = [subprocess.Popen([*CALIBRATE, "--between-nodes", "--platform", str(servers),
                               "--platform-out", str(out), "--repeats", "3", "--nnodes", "2", "--node-rank", str(i),
                               "--rdzv-endpoint", f"127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(2)]
    res = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    assert all(rc == 0 for _, _, rc in res), res
    assert "between servers" in res[0][0] and "took its part" in res[1][0]
    links = json.loads(out.read_text())["links"]
    assert len(links) == 3 and all("between two nodes" in x["medium"] and x["bandwidth_gbps"] > 0 and
                                   x["latency_us"] > 0 for x in links)


def test_nodes_in_separate_network_namespaces_bind_only_their_address(diviml_bin, root, tmp_path):
    """Two network namespaces joined by a veth pair (10.244.N.1 and .2): node 0 in the first,
    nodes 1 and 2 in the second, each told its address with --listen. The run is bit-exact, and
    every socket the nodes hold is on their own address: nothing on all interfaces."""
    import re
    import shutil
    import time
    if shutil.which("ip") is None or shutil.which("ss") is None:
        pytest.skip("ip and ss (iproute2) are needed to make network namespaces")
    tag = os.getpid() % 200 + 20
    a, b = f"dvA{tag}", f"dvB{tag}"
    ip_a, ip_b = f"10.244.{tag}.1", f"10.244.{tag}.2"
    made = subprocess.run(["ip", "netns", "add", a], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"this machine cannot make network namespaces here ({made.stderr.strip()})")
    try:
        setup = [["ip", "netns", "add", b],
                 ["ip", "link", "add", f"va{tag}", "netns", a, "type", "veth", "peer", "name", f"vb{tag}", "netns", b],
                 ["ip", "-n", a, "addr", "add", f"{ip_a}/24", "dev", f"va{tag}"],
                 ["ip", "-n", b, "addr", "add", f"{ip_b}/24", "dev", f"vb{tag}"],
                 ["ip", "-n", a, "link", "set", f"va{tag}", "up"], ["ip", "-n", b, "link", "set", f"vb{tag}", "up"],
                 ["ip", "-n", a, "link", "set", "lo", "up"], ["ip", "-n", b, "link", "set", "lo", "up"]]
        for cmd in setup:
            r = subprocess.run(cmd, capture_output=True, text=True)
            assert r.returncode == 0, (cmd, r.stderr)
        src, graph = export(root, tmp_path, "tiny_models:gpt2_tiny", "1,16,64")
        platform = root / "platforms" / "cluster-3srv.json"
        p = across_servers(plan(diviml_bin, graph, platform, tmp_path, "fastest"), tmp_path)
        port = free_port()
        procs = []
        for i, (ns, addr) in enumerate([(a, ip_a), (b, ip_b), (b, ip_b)]):
            cmd = ["ip", "netns", "exec", ns, *EXECUTE, *src, "-g", graph, "-p",
                   platform, "--plan", p, "--all-cpu", "--runs", "3", "--warmup", "1", "--timeout", "60",
                   "--report", tmp_path / f"ns{i}.json", "--nnodes", "3", "--node-rank", i,
                   "--rdzv-endpoint", f"{ip_a}:{port}", "--listen", addr]
            procs.append((i, subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              text=True, env=tool_cmds.env())))
        seen = {a: (set(), set()), b: (set(), set())}
        deadline = time.monotonic() + 120
        while any(q.poll() is None for _, q in procs) and time.monotonic() < deadline:
            pids = family({q.pid for _, q in procs})
            for ns in (a, b):
                out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-H", "-tanp"], capture_output=True,
                                     text=True).stdout
                for line in out.splitlines():
                    owner = [int(x) for x in re.findall(r"pid=(\d+)", line)]
                    if owner and owner[0] in pids:
                        state, local = line.split()[0], line.split()[3].rsplit(":", 1)[0]
                        seen[ns][0 if state == "LISTEN" else 1].add(local)
            time.sleep(0.05)
        res = finish_nodes(procs)
        assert all(rc == 0 for rc, *_ in res.values()), res
        rep = json.loads((tmp_path / "ns0.json").read_text())
        assert rep["max_abs_diff"] == 0.0 and rep["outputs_match"]
        assert seen[a][0] and seen[a][0] <= {ip_a}, seen  # node 0: the store and gloo, on its address only
        assert seen[b][1] and seen[b][0] | seen[b][1] <= {ip_b}, seen
    finally:
        subprocess.run(["ip", "netns", "del", a], capture_output=True)
        subprocess.run(["ip", "netns", "del", b], capture_output=True)
