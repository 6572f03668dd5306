#!/usr/bin/env python3
"""Does the predicted latency happen? (docs/results.md, "Running plans: fidelity")

    PYTHONPATH=build/python python3 bench/fidelity.py [--out DIR] [--rounds 3] [--runs 30] [--time-limit 10] [--nodes N] [MODEL ...]

Per model, on this machine as the executor runs it (two processes of one core and one thread),
the flow of docs/executor.md's quick start:
1. export the model (diviml-export, its defaults: BatchNorm folded);
2. calibrate (diviml-calibrate, its defaults): per-op costs from the executor's own passes,
   the loopback link fitted from a ping-pong;
3. plan it with `auto` on the calibrated platform;
4. run the plan with diviml-execute, --rounds times, interleaved over the models (round
   1 of every model, then round 2, ...), each round --runs timed runs after 3 warm-up runs.
It prints a Markdown table: predicted makespan, measured median per round, the error of each
round's median (|measured - predicted| / measured) and its median over the rounds, and the
per-device breakdown of the last round. Plans, reports, timelines and Gantt charts (plan and
measured, one beside the other) stay in --out.

Both calibrations write overlap_comm: false on every device where they measure gloo's copies
occupying the sender (diviml-calibrate --copies measured). Streams (unless --no-stream): a second
calibration as a stream runs, every process measured at once (diviml-calibrate --load all: shared
caches and memory bandwidth), `auto`'s throughput plan on it, and in each round the stream run twice: paced at the plan's period and unpaced (inputs
as fast as the host gets to them). A second table: predicted and measured inputs/s, the error
of the unpaced rate (what the plan can reach) and where each device's time went.

With --nodes N (issue 44): the platform is N servers of one core each (diviml-calibrate --processes
1 --servers N), the link between them measured between two nodes (diviml-calibrate --between-nodes,
two launches on 127.0.0.1), and each plan runs as N nodes, one launch per server
(diviml-execute --nnodes N --node-rank I --rdzv-endpoint 127.0.0.1:PORT). No streams then.

Each round's report says how widely its runs spread ((p90 - p10) / median), how far the speed
of a busy device moved since calibration (`drift`, from a probe workload diviml-calibrate timed and
the executor times again), and whether either is too wide to judge a prediction at 10%
(`noisy`); the table shows all three.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
DIVIML = os.path.join(ROOT, "build", "diviml")

# name -> (model arguments, input shape or None)
MODELS = {
    "resnet18": (["--torchvision", "resnet18"], None),
    "googlenet": (["--torchvision", "googlenet"], None),
    "mobilenet_v2": (["--torchvision", "mobilenet_v2"], None),
    "resnet50": (["--torchvision", "resnet50"], None),
    "inception_v3": (["--torchvision", "inception_v3"], None),
    "rwnn": (["--module", "rwnn:rwnn"], None),
    "gpt2_mini": (["--module", "decoder:gpt2_mini"], "1,64,256"),
}


def run(cmd):
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"fidelity: {' '.join(cmd)} failed:\n{p.stdout}{p.stderr}")
    return p.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_nodes(cmd, nodes):
    """cmd as `nodes` launches on 127.0.0.1, one per node (ranks 0 .. nodes-1), all at once."""
    port = free_port()
    procs = [subprocess.Popen(cmd + ["--nnodes", str(nodes), "--node-rank", str(i), "--rdzv-endpoint",
                                     f"127.0.0.1:{port}"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(nodes)]
    outs = [p.communicate() for p in procs]
    for p, (o, e) in zip(procs, outs):
        if p.returncode != 0:
            raise SystemExit(f"fidelity: {' '.join(cmd)} (as {nodes} nodes) failed:\n{o}{e}")


def spread_cell(report):
    """The round's spread, and the largest change of a busy device's speed since calibration;
    * where either is past the 10% a prediction is judged at (the report's `noisy`)."""
    return f"{report['spread']:.0%} / {report.get('drift', 0):.0%}" + ("*" if report["noisy"] else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", default=list(MODELS), help=f"models (default: {' '.join(MODELS)})")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "fidelity"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--time-limit", default="10", help="auto's time limit in seconds (default 10)")
    ap.add_argument("--no-stream", dest="stream", action="store_false",
                    help="skip the throughput plans (by default each round also streams the model's throughput "
                         "plan, paced at its period and unpaced)")
    ap.add_argument("--nodes", type=int, default=1, help="run each plan as this many nodes, one server of one "
                                                          "core each (default 1: one machine, two processes)")
    args = ap.parse_args()
    if args.nodes > 1:
        args.stream = False
    os.makedirs(args.out, exist_ok=True)
    prepared = {}
    for m in args.models:
        margs, shape = MODELS[m]
        shape_args = ["--input-shape", shape] if shape else []
        base = os.path.join(args.out, m)
        graph = base + ".json"
        run([PY, "-m", "diviml.export", *margs, *shape_args, "-o", graph])
        if args.nodes > 1:
            run([PY, "-m", "diviml.calibrate", *margs, "--graph", graph, "--graph-out", base + ".local.json",
                 "--platform-out", base + ".servers.json", "--processes", "1", "--servers", str(args.nodes)])
            run_nodes([PY, "-m", "diviml.calibrate", "--between-nodes", "--platform", base + ".servers.json",
                       "--platform-out", base + ".platform.json"], 2)
        else:
            run([PY, "-m", "diviml.calibrate", *margs, "--graph", graph, "--graph-out", base + ".local.json",
                 "--platform-out", base + ".platform.json"])
        run([DIVIML, "plan", "-g", base + ".local.json", "-p", base + ".platform.json", "-o", base + ".plan.json",
             "--gantt", base + ".plan.svg", "--time-limit", args.time_limit, "-q"])
        prepared[m] = (margs, shape_args, base)
        print(f"{m}: calibrated and planned", file=sys.stderr)
    streams = {}
    if args.stream:
        for m, (margs, shape_args, base) in prepared.items():
            graph = base + ".json"
            run([PY, "-m", "diviml.calibrate", *margs, "--graph", graph, "--graph-out", base + ".stream-local.json",
                 "--platform-out", base + ".stream-platform.json", "--load", "all"])
            run([DIVIML, "plan", "-g", base + ".stream-local.json", "-p", base + ".stream-platform.json", "--objective",
                 "throughput", "-o", base + ".stream-plan.json", "--time-limit", args.time_limit, "-q"])
            streams[m] = []
    measured = {m: [] for m in prepared}
    for r in range(args.rounds):
        for m, (margs, shape_args, base) in prepared.items():
            cmd = [PY, "-m", "diviml.execute", *margs, *shape_args, "-g", base + ".local.json",
                   "-p", base + ".platform.json", "--plan", base + ".plan.json", "--runs", str(args.runs),
                   "--report", base + ".report.json", "--timeline", base + ".timeline.json"]
            run(cmd) if args.nodes == 1 else run_nodes(cmd, args.nodes)
            with open(base + ".report.json") as f:
                measured[m].append(json.load(f))
            if m in streams:
                for pace in ([], ["--no-pace"]):
                    run([PY, "-m", "diviml.execute", *margs, *shape_args, "-g", base + ".stream-local.json",
                         "-p", base + ".stream-platform.json", "--plan", base + ".stream-plan.json", *pace,
                         "--report", base + ".stream-report.json"])
                    with open(base + ".stream-report.json") as f:
                        streams[m].append(json.load(f))
            print(f"{m}: round {r + 1} done", file=sys.stderr)
    print("| model | ops | devices used | transfers | predicted ms | measured median ms (per round) | "
          "error per round | median error | spread / drift per round (noisy: *) | per device (last round): planned busy / "
          "ops + other / waiting ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m, reports in measured.items():
        base = prepared[m][2]
        run([DIVIML, "gantt", "-g", base + ".local.json", "-p", base + ".platform.json", base + ".timeline.json",
             "-o", base + ".measured.svg"])
        with open(base + ".local.json") as f:
            ops = len(json.load(f)["nodes"])
        pred = reports[0]["predicted_us"]
        meds = [r["measured_median_us"] for r in reports]
        errs = [abs(x - pred) / x for x in meds]
        assert all(r["max_abs_diff"] == 0 for r in reports), f"{m}: outputs differ from the unsplit model"
        dev = "; ".join(f"{d} {b['planned_busy_us'] / 1e3:.1f} / {(b['compute_us'] + b['other_us']) / 1e3:.1f} / "
                        f"{b['wait_us'] / 1e3:.1f}" for d, b in reports[-1]["per_device"].items())
        print(f"| {m} | {ops} | {len(reports[0]['devices'])} | {reports[0]['transfers_per_run']} | {pred / 1e3:.2f} | "
              f"{', '.join(f'{x / 1e3:.2f}' for x in meds)} | {', '.join(f'{e:.1%}' for e in errs)} | "
              f"{statistics.median(errs):.1%} | {', '.join(spread_cell(r) for r in reports)} | {dev} |")
    if streams:
        stream_table(streams)


def stream_table(streams):
    print()
    print("| model | lanes | max delay | predicted inputs/s | measured paced (per round) | measured unpaced (per round) "
          "| unpaced error per round | median error | whole stream, last unpaced: ops / sending / waiting / other ms "
          "per device |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m, reports in streams.items():
        paced = [r for r in reports if r["paced"]]
        free = [r for r in reports if not r["paced"]]
        pred = reports[0]["predicted_per_s"]
        errs = [abs(r["measured_per_s"] - pred) / r["measured_per_s"] for r in free]
        assert all(r["max_abs_diff"] == 0 for r in reports), f"{m}: stream outputs differ from the unsplit model"
        dev = "; ".join(f"{d} {b['compute_us'] / 1e3:.0f} / {b['send_us'] / 1e3:.0f} / {b['wait_us'] / 1e3:.0f} / "
                        f"{(b['other_us'] + b['post_us'] + b['send_wait_us']) / 1e3:.0f}"
                        for d, b in free[-1]["per_device"].items())
        print(f"| {m} | {reports[0]['lanes']} | {reports[0]['max_delay_rounds']} | {pred:.2f} | "
              f"{', '.join(f'{x:.2f}' for x in (r['measured_per_s'] for r in paced))} | "
              f"{', '.join(f'{x:.2f}' for x in (r['measured_per_s'] for r in free))} | "
              f"{', '.join(f'{e:.1%}' for e in errs)} | "
              f"{statistics.median(errs):.1%} | {dev} |")


if __name__ == "__main__":
    main()
