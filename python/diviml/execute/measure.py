"""What a run measured against what the plan predicted: the spread of the runs, per-device
breakdowns, drift since calibration, and the measured timeline.
"""

import statistics
import time

import torch
import torch.fx
from torch.fx.passes.shape_prop import ShapeProp

from ..export.fx import patch_fx_for_python311
from .layout import Layout, PlanError, reference_values, tensors_of
from .runners import one_pass


def trace(model, example):
    """The traced model, every node's value in a reference run, and the reference outputs."""
    patch_fx_for_python311()
    try:
        gm = torch.fx.symbolic_trace(model)
    except torch.fx.proxy.TraceError as e:
        raise PlanError(f"torch.fx cannot trace the model: {e}")
    with torch.no_grad():
        ShapeProp(gm).propagate(example)
    values, reference = reference_values(gm, example)
    return gm, values, reference


def op_costs_in_executor_loop(model, example, graph, warmup, repeats):
    """Per graph op, its time in this process as the executor runs it: every op on one device,
    in the model's order, through one_pass itself. An op is charged from the end of the previous
    node run to the end of its own, so the executor's per-node work (fetching arguments,
    dispatch, freeing values) is in the op's cost, and so are the nodes folded into it. The
    median over `repeats` passes after `warmup`."""
    gm, values, _ = trace(model, example)
    order = {n.name: i for i, n in enumerate(gm.graph.nodes)}
    plan = {"placements": [{"node": n["id"], "device": "one", "start_us": order.get(n["id"], 0)}
                           for n in graph.get("nodes", [])]}
    lay = Layout(gm, graph, {"name": "one process", "host": "one", "devices": [{"name": "one"}]}, plan, values)
    charged = {}
    for it in range(warmup + repeats):
        rec = []
        t_prev = time.perf_counter()
        one_pass(lay, "one", example, rec, {})
        if it < warmup:
            continue
        per = {}
        for r in rec:
            if r[0] == "run":
                op = lay.owner.get(r[1])
                if op is not None:
                    per[op] = per.get(op, 0.0) + (r[3] - t_prev) * 1e6
                t_prev = r[3]
        for op, t in per.items():
            charged.setdefault(op, []).append(t)
    return {op: round(statistics.median(ts), 3) for op, ts in charged.items()}


def output_check(diff, reference, devices):
    """On CPU processes only, the outputs must be the reference's bit for bit; where a GPU
    computes, within 1e-3 of the largest reference output magnitude (fp32, TF32 off)."""
    if all(d == "cpu" for d in devices):
        return {"tolerance_abs": 0.0, "outputs_match": diff == 0.0}
    scale = max((float(t.abs().max()) for t in tensors_of(reference)), default=1.0)
    tol = 1e-3 * max(scale, 1e-6)
    return {"tolerance_abs": tol, "outputs_match": diff <= tol}


NOISY_SPREAD = 0.10  # the error target a prediction is judged at (docs/results.md, fidelity)


def spread_of(times):
    """The runs' spread: p10 and p90, (p90 - p10) / median, and whether it is too wide to judge a
    prediction at the 10% its error is held to (then the report says so: `noisy`; a device whose
    speed moved by more than that since calibration, `drifted`, makes it noisy too)."""
    q = statistics.quantiles(times, n=10, method="inclusive") if len(times) > 1 else [times[0]] * 9
    spread = (q[8] - q[0]) / statistics.median(times)
    return {"measured_p10_us": q[0], "measured_p90_us": q[8], "spread": round(spread, 4),
            "noisy": spread > NOISY_SPREAD}


def breakdown(lay, results, platform):
    """Per device, medians over the runs: the plan's busy time, and the measured time spent
    running ops (compute_us), waiting in receives (wait_us), and the rest of the pass (Python
    dispatch, posting sends, freeing values: other_us). Where diviml-calibrate measured the device,
    also its speed now against then (`slowdown`: the probe's mean time now, before the first
    timed run and before the last, over its time at calibration; 1.3 is 30% slower)."""
    calibrated = {d.get("name"): d.get("measured", {}).get("probe_us") for d in platform.get("devices", [])}
    out = {}
    for d in lay.devices:
        runs = results[lay.rank[d]]["records"]
        comp = [sum(r[3] - r[2] for r in rec if r[0] == "run") * 1e6 for _, _, rec in runs]
        wait = [sum(r[3] - r[2] for r in rec if r[0] == "recv") * 1e6 for _, _, rec in runs]
        total = [(t1 - t0) * 1e6 for t0, t1, _ in runs]
        planned = sum(e - s for n, (s, e) in lay.plan_span.items() if lay.where.get(n) == d)
        out[d] = {"planned_busy_us": round(planned, 1), "compute_us": round(statistics.median(comp), 1),
                  "wait_us": round(statistics.median(wait), 1),
                  "other_us": round(statistics.median(t - c - w for t, c, w in zip(total, comp, wait)), 1)}
        now = results[lay.rank[d]].get("probe_us") or []
        if calibrated.get(d) and now:
            out[d].update({"probe_us": now, "calibrated_probe_us": calibrated[d],
                           "slowdown": round(statistics.mean(now) / calibrated[d], 3)})
    return out


def drift_of(per_device):
    """The largest change of speed since calibration among the devices the plan keeps busy
    (|slowdown - 1|), and whether it is more than a prediction is judged at."""
    moved = [abs(b["slowdown"] - 1) for b in per_device.values() if "slowdown" in b and b["planned_busy_us"] > 0]
    drift = max(moved, default=0.0)
    return {"drift": round(drift, 3), "drifted": drift > NOISY_SPREAD}


def measured_timeline(lay, graph, plan, results, run, span_us, per_process_clock=False):
    """One run (the one of median latency) as a plan file: per graph op, when it ran (the nodes
    folded into it included); per edge between devices, from the send of its tensor to the end of
    its receive. Times in us from the host's start; `diviml gantt` draws it like a plan. Across
    nodes (per_process_clock), whose clocks are not one, each process's times count from its own
    start of the run, when it left the barrier that starts every run."""
    placements, sent, received = {}, {}, {}
    for d in lay.devices:
        t_zero = results[lay.rank[d] if per_process_clock else 0]["records"][run][0]
        for rec in results[lay.rank[d]]["records"][run][2]:
            if rec[0] == "run":
                op = lay.owner.get(rec[1])
                if op is not None:
                    s, e = (rec[2] - t_zero) * 1e6, (rec[3] - t_zero) * 1e6
                    old = placements.get(op)
                    placements[op] = (d, min(s, old[1]) if old else s, max(e, old[2]) if old else e)
            elif rec[0] == "send":
                sent[(rec[1], rec[2])] = (rec[3] - t_zero) * 1e6
            else:
                received[(rec[1], d)] = (rec[3] - t_zero) * 1e6
    # Graph edges between devices: the messages of FX nodes owned by the producer, to the
    # consumer's device.
    by_owner = {}
    for (name, dest), t in sent.items():
        if (name, dest) in received:
            by_owner.setdefault((lay.owner.get(name), dest), []).append((t, received[(name, dest)]))
    transfers = []
    for e in graph.get("edges", []):
        u, v = placements.get(e["src"]), placements.get(e["dst"])
        if u and v and u[0] != v[0] and (e["src"], v[0]) in by_owner:
            msgs = by_owner[(e["src"], v[0])]
            transfers.append({"src": e["src"], "dst": e["dst"], "from": u[0], "to": v[0],
                              "start_us": round(min(m[0] for m in msgs), 3),
                              "end_us": round(max(m[1] for m in msgs), 3), "bytes": e.get("bytes", 0)})
    return {
        "format": "diviml.plan/1", "solver": f"measured: {plan.get('solver', '?')} plan run by diviml-execute",
        "status": "heuristic", "objective": "latency", "makespan_us": round(span_us, 3), "lower_bound_us": 0.0,
        "gap": None, "predicted_makespan_us": float(plan.get("makespan_us", 0.0)),
        "placements": [{"node": n, "device": d, "start_us": round(s, 3), "end_us": round(e, 3)}
                       for n, (d, s, e) in sorted(placements.items(), key=lambda kv: kv[1][1])],
        "transfers": transfers,
    }
