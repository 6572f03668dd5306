"""`--trace`: the plan as a Chrome trace, checked against the Trace Event format (the JSON object
form: traceEvents with ph, pid, tid, ts and dur in microseconds), with no two complete events
overlapping on one track, every op once, flows paired, memory as counters."""
import collections
import json
import math
import subprocess

import pytest


def run(*args):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


def check_trace(trace, graph, plan, lanes=1):
    events = trace["traceEvents"]
    assert isinstance(events, list) and events
    named = {}  # tid -> track name
    by_track = collections.defaultdict(list)
    flows = collections.defaultdict(list)
    counters = collections.defaultdict(list)
    ops = collections.Counter()
    for e in events:
        assert e["ph"] in ("M", "X", "s", "f", "C"), e
        assert isinstance(e["pid"], int) and isinstance(e["name"], str)
        if e["ph"] == "M":
            if e["name"] == "thread_name":
                named[e["tid"]] = e["args"]["name"]
            continue
        assert isinstance(e["tid"], int)
        assert isinstance(e["ts"], (int, float)) and math.isfinite(e["ts"]) and e["ts"] >= 0, e
        if e["ph"] == "X":
            assert isinstance(e["dur"], (int, float)) and e["dur"] >= 0, e
            by_track[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"], e["name"]))
            if e["cat"] != "copy":
                ops[e["args"]["node"]] += 1
        elif e["ph"] in ("s", "f"):
            flows[e["id"]].append(e)
        else:
            assert e["args"]["bytes"] >= 0
            counters[e["name"]].append(e["ts"])
    # Every track is named, and no two complete events of one track overlap.
    for (pid, tid), spans in by_track.items():
        assert tid in named, tid
        spans.sort()
        for (a0, a1, an), (b0, b1, bn) in zip(spans, spans[1:]):
            assert b0 >= a1 - 1e-6 * max(1.0, a1), (named[tid], an, bn, a1, b0)
    # Every op of the graph once per lane, at the plan's times (microseconds).
    assert ops == {n["id"]: lanes for n in graph["nodes"]}
    starts = {(p["node"], p.get("lane", 0)): p["start_us"] for p in plan["placements"]}
    for e in events:
        if e["ph"] == "X" and e["cat"] != "copy":
            assert abs(e["ts"] - starts[(e["args"]["node"], e["args"].get("lane", 0))]) < 1e-6
    # Flows come in pairs, start before they finish.
    for fid, pair in flows.items():
        assert sorted(x["ph"] for x in pair) == ["f", "s"], pair
        s = next(x for x in pair if x["ph"] == "s")
        f = next(x for x in pair if x["ph"] == "f")
        assert f["ts"] >= s["ts"] - 1e-6
    return named, flows, counters


def test_a_latency_plan_with_copies(diviml_bin, root, tmp_path):
    g = root / "models" / "googlenet.json"
    run(diviml_bin, "plan", "-g", g, "-p", "cluster-3srv", "-s", "heft", "-o", tmp_path / "p.json",
        "--trace", tmp_path / "p.trace.json", "-q")
    trace = json.loads((tmp_path / "p.trace.json").read_text())
    plan = json.loads((tmp_path / "p.json").read_text())
    named, flows, counters = check_trace(trace, json.loads(g.read_text()), plan)
    assert plan["transfers"] and flows  # copies between devices, with arrows
    assert any("->" in n for n in named.values())  # link tracks
    assert len(counters) >= 1 and all(ts == sorted(ts) for ts in counters.values())
    assert trace["otherData"]["makespan_us"] == pytest.approx(plan["makespan_us"])


def test_a_throughput_plan_and_a_plan_file_drawn_again(diviml_bin, root, tmp_path):
    g = root / "models" / "resnet18.json"
    run(diviml_bin, "plan", "-g", g, "--objective", "throughput", "-s", "replicas", "-o", tmp_path / "t.json", "-q")
    assert json.loads((tmp_path / "t.json").read_text())["lanes"] > 1
    plan = json.loads((tmp_path / "t.json").read_text())
    # gantt --trace draws any plan file (a measured timeline from diviml-execute included).
    run(diviml_bin, "gantt", "-g", g, tmp_path / "t.json", "--trace", tmp_path / "t.trace.json")
    trace = json.loads((tmp_path / "t.trace.json").read_text())
    check_trace(trace, json.loads(g.read_text()), plan, lanes=plan["lanes"])
    assert trace["otherData"]["period_us"] == pytest.approx(plan["period_us"])
