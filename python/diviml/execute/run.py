"""Run a DiviML plan with PyTorch, one process per device, and check it against the unsplit model:
the `diviml-execute` command (also python3 -m diviml.execute; diviml.execute says how it runs).
"""
import json
import os
import statistics
import sys

import torch
import torch.fx

from .. import tool_errors
from ..models.loading import add_model_arguments
from . import nodes
from .layout import Layout, PlanError, StreamLayout, build_model, load_json
from .runners import stream_worker, worker
from .processes import join_nodes, run_processes, torch_devices
from .measure import NOISY_SPREAD, breakdown, drift_of, measured_timeline, output_check, spread_of, trace

TOOL = "diviml-execute"


def execute(args):
    graph = load_json(args.graph, "graph")
    platform = load_json(args.platform, "platform")
    plan = load_json(args.plan, "plan")
    objective = plan.get("objective", "latency")
    if objective not in ("latency", "throughput"):
        raise PlanError(f"plan: unknown objective '{objective}'")
    torch.set_num_threads(args.threads)
    model, example = build_model(args)
    gm, values, reference = trace(model, example)
    if objective == "throughput":
        return execute_stream(args, graph, platform, plan, model, gm, values, example, reference)
    lay = Layout(gm, graph, platform, plan, values)
    cluster, results = run_here(worker, lay, args, graph, platform, plan, model, example, reference)
    if results is None:
        return node_done(cluster, lay.devices), None
    times = results[0]["times_us"]
    report = {
        "graph": graph.get("name"), "platform": platform.get("name"), "solver": plan.get("solver"),
        "objective": "latency", "devices": lay.devices, "transfers_per_run": lay.transfers,
        "max_abs_diff": results[0]["max_abs_diff"],
        "predicted_us": float(plan.get("makespan_us", 0.0)),
        "measured_median_us": statistics.median(times),
        "measured_min_us": min(times),
        **spread_of(times),
        "runs": len(times), "threads_per_process": args.threads,
        "per_device": breakdown(lay, results, platform),
        **output_check(results[0]["max_abs_diff"], reference, args.rank_devices),
        "torch_devices": dict(zip(lay.devices, args.rank_devices)), "transport": args.transport,
        "messages_taken_ahead": sum(r["kept"] for r in results.values()),
        **nodes_part(cluster, lay.devices),
    }
    report.update(drift_of(report["per_device"]))
    report["noisy"] = report["noisy"] or report["drifted"]
    median_run = sorted(range(len(times)), key=lambda i: times[i])[len(times) // 2]
    return report, measured_timeline(lay, graph, plan, results, median_run, times[median_run], cluster is not None)


def run_here(target, layout, args, graph, platform, plan, model, example, reference):
    """Meets the other nodes (if the run spans servers) and runs `target` in this node's device
    processes: (the node's Cluster or None, every rank's result, or None at a node that does
    not report)."""
    cluster = join_nodes(args, graph, platform, plan, model, layout.devices)
    try:
        args.rank_devices = torch_devices(layout.devices, platform, args.all_cpu, cluster)
        results = run_processes(target, len(layout.devices), layout, example, reference, args, cluster)
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    if cluster is not None:
        cluster.finish()
    return cluster, results


def nodes_part(cluster, devices):
    """The report's `nodes`: per node, its server and its device processes."""
    if cluster is None:
        return {}
    return {"nodes": [{"node": j, "server": s, "devices": [d for r, d in enumerate(devices) if cluster.node_of_rank[r] == j]}
                      for j, s in enumerate(cluster.servers)]}


def node_done(cluster, devices):
    """What a node that does not report says: its part ran."""
    mine = [devices[r] for r in cluster.local_ranks]
    return {"node_only": True, "line": f"{cluster.name(cluster.node)}: {len(mine)} device process(es)"
                                       f"{' (' + ', '.join(mine) + ')' if mine else ''} ran their part; the report is on "
                                       f"{cluster.name(cluster.report_node)}"}


def execute_stream(args, graph, platform, plan, model, gm, values, example, reference):
    """A throughput plan: a stream of --rounds rounds (Q) of `lanes` inputs. The host collects
    the outputs of input round q in its device round q + D (D: the largest delay). Measured
    inputs/s: over the rounds whose outputs are collected while inputs still come in (q from 1
    to Q - D - 1; round 0 warms up, and after the last injection the pipeline only drains), the
    inputs of rounds 2 .. Q - D - 1 over the time since round 1's outputs were collected."""
    if args.timeline or args.transport == "ordered":
        raise PlanError("--timeline and --transport ordered are for latency plans (a stream runs over gloo, "
                        "GPU tensors staged through host memory)")
    sl = StreamLayout(gm, graph, platform, plan, values)
    D = sl.max_delay
    if args.rounds is None:
        args.rounds = D + 12
    if args.rounds < D + 4:
        raise PlanError(f"--rounds {args.rounds}: the plan delays tasks by up to {D} rounds; a stream needs at "
                        f"least {D + 4} rounds to be measured in steady state")
    cluster, results = run_here(stream_worker, sl, args, graph, platform, plan, model, example, reference)
    if results is None:
        return node_done(cluster, sl.devices), None
    times = results[0]["times"]
    Q, R = args.rounds, sl.lanes
    first, last = 1, Q - D - 1  # round 0 warms up; after round Q - D - 1 the pipeline drains
    t_round = [max(times[q * R + lane][1] for lane in range(R)) for q in range(Q)]
    rate = R * (last - first) / (t_round[last] - t_round[first])
    latencies = [(d - i) * 1e6 for n, (i, d) in times.items() if first * R <= n < (last + 1) * R]
    report = {
        "graph": graph.get("name"), "platform": platform.get("name"), "solver": plan.get("solver"),
        "objective": "throughput", "devices": sl.devices, "lanes": R, "max_delay_rounds": sl.max_delay,
        "transfers_per_round": sl.transfers, "max_abs_diff": results[0]["max_abs_diff"],
        "paced": not args.no_pace, "inputs": Q * R, "rounds": Q, "measured_rounds": [first, last],
        "predicted_period_us": sl.period_us, "predicted_per_s": 1e6 / sl.period_us,
        "measured_per_s": rate, "measured_period_us": 1e6 / rate,
        "predicted_latency_us": float(plan.get("latency_us", plan.get("makespan_us", 0.0))),
        "measured_latency_median_us": statistics.median(latencies),
        "threads_per_process": args.threads,
        "per_device": {d: results[sl.rank[d]]["spent"] for d in sl.devices},
        **output_check(results[0]["max_abs_diff"], reference, args.rank_devices),
        "torch_devices": dict(zip(sl.devices, args.rank_devices)), "transport": "gloo",
        **nodes_part(cluster, sl.devices),
    }
    return report, None


def main(argv=None):
    ap = tool_errors.ArgumentParser(prog=TOOL, description=__doc__.split("\n\n")[0])
    add_model_arguments(ap)
    ap.add_argument("--input-shape", help="comma-separated input shape (as given to diviml-export)")
    ap.add_argument("-g", "--graph", required=True, help="the graph file diviml-export wrote for the model")
    ap.add_argument("-p", "--platform", required=True, help="the platform file the plan was made for")
    ap.add_argument("--plan", required=True, help="the plan file (diviml plan -o)")
    ap.add_argument("--runs", type=int, default=20, help="timed runs (default 20)")
    ap.add_argument("--rounds", type=int, help="throughput plans: rounds of `lanes` inputs to stream "
                                               "(default: the plan's largest delay + 12)")
    ap.add_argument("--no-pace", action="store_true", help="throughput plans: inject each input as soon as "
                                                           "the host gets to it, not at the plan's period")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    ap.add_argument("--threads", type=int, default=1, help="threads per process (default 1)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds before every process is ended (default 600)")
    ap.add_argument("--all-cpu", action="store_true", help="run every device, GPUs included, as a CPU process")
    ap.add_argument("--transport", choices=["auto", "gloo", "ordered"], default="auto",
                    help="auto (default): NCCL between GPU processes, gloo otherwise (CUDA tensors staged "
                         "through host memory); gloo: gloo everywhere; ordered: gloo everywhere, each message "
                         "taken in its sender's order as NCCL needs (tests that order without a GPU)")
    ap.add_argument("--report", help="write the summary as JSON here")
    ap.add_argument("--timeline", help="write the run of median latency as a plan file here (per-op measured "
                                        "times; draw it with diviml gantt)")
    nodes.add_node_arguments(ap)
    args = ap.parse_args(argv)
    if args.runs < 1 or args.warmup < 0 or args.threads < 1 or args.timeout <= 0:
        raise SystemExit(f"{TOOL}: error: --runs and --threads must be at least 1, --warmup at least 0, "
                         "--timeout positive")
    try:
        report, timeline = execute(args)
    except (PlanError, nodes.NodeError) as e:
        print(f"{TOOL}: error: {e}", file=sys.stderr)
        return 2
    except nodes.NodeLost as e:
        print(f"{TOOL}: error: {e}", file=sys.stderr)
        return 4
    if report.get("node_only"):
        print(report["line"])
        return 0
    devices = f"{len(report['devices'])} process(es) ({', '.join(report['devices'])})"
    if report["objective"] == "throughput":
        print(f"{report['graph']} stream on {devices}, {report['lanes']} lane(s), {report['inputs']} inputs"
              f"{' paced at the period' if report['paced'] else ''}: max_abs_diff {report['max_abs_diff']:.3g}, "
              f"measured {report['measured_per_s']:.2f} inputs/s (period {report['measured_period_us']:.1f} us), "
              f"predicted {report['predicted_per_s']:.2f} inputs/s (period {report['predicted_period_us']:.1f} us); "
              f"latency median {report['measured_latency_median_us']:.1f} us, predicted "
              f"{report['predicted_latency_us']:.1f} us")
        for d, b in report["per_device"].items():
            print(f"  {d}: whole stream {b['total_us'] / 1e3:.0f} ms: ops {b['compute_us'] / 1e3:.0f}, sending "
                  f"{b['send_us'] / 1e3:.0f}, posting receives {b['post_us'] / 1e3:.0f}, waiting for receives "
                  f"{b['wait_us'] / 1e3:.0f}, for sends {b['send_wait_us'] / 1e3:.0f}, pacing {b['pace_us'] / 1e3:.0f}, "
                  f"other {b['other_us'] / 1e3:.0f}")
    else:
        print(f"{report['graph']} on {devices}: max_abs_diff {report['max_abs_diff']:.3g}, measured median "
              f"{report['measured_median_us']:.1f} us over {report['runs']} runs, predicted {report['predicted_us']:.1f} us, "
              f"{report['transfers_per_run']} transfer(s) per run")
        for d, b in report["per_device"].items():
            print(f"  {d}: planned busy {b['planned_busy_us']:.0f} us; measured ops {b['compute_us']:.0f} us, "
                  f"waiting {b['wait_us']:.0f} us, other {b['other_us']:.0f} us")
        if report["spread"] > NOISY_SPREAD:
            print(f"  noisy: the runs spread {report['spread']:.0%} of their median (p10 "
                  f"{report['measured_p10_us']:.1f} us, p90 {report['measured_p90_us']:.1f} us), more than the "
                  f"{NOISY_SPREAD:.0%} a prediction is judged at: this machine is too busy to judge the plan; rerun "
                  "it when the machine is quiet")
        for d, b in report["per_device"].items():
            if report["drifted"] and b.get("planned_busy_us", 0) > 0 and abs(b.get("slowdown", 1) - 1) > NOISY_SPREAD:
                print(f"  drifted: {d} runs {b['slowdown']:.2f}x the time it took when calibrated (probe "
                      f"{statistics.mean(b['probe_us']):.0f} us against {b['calibrated_probe_us']:.0f}): the machine changed since "
                      "diviml-calibrate measured it, so the prediction cannot be judged; calibrate again, or run when it "
                      "is quiet")
    for path, doc in ((args.timeline, timeline), (args.report, report)):
        if path:
            with open(path, "w") as f:
                json.dump(doc, f, indent=1)
                f.write("\n")
    if not report["outputs_match"]:
        print(f"{TOOL}: error: the outputs differ from the unsplit model's: max_abs_diff "
              f"{report['max_abs_diff']:.3g} above the tolerance {report['tolerance_abs']:.3g}", file=sys.stderr)
        return 1
    return 0


def main_as_launched(argv=None):
    """main; under torchrun, the process then ends at once (os._exit, its output flushed): torch
    1.13's TCPStore clients destroyed at interpreter exit aborted a node once ("terminate called
    without an active exception") after a run that had passed."""
    code = main(argv)
    if os.environ.get("TORCHELASTIC_RUN_ID"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)
    return code


def console():
    """The console command's entry point: one-line errors, exit status by class."""
    tool_errors.run(main_as_launched, TOOL)
