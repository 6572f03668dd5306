"""Measure this machine as the executor (diviml-execute) runs it: N CPU processes of one core each.

    diviml-calibrate --torchvision resnet18 --graph models/resnet18.json \\
        --graph-out r18.local.json --platform-out local.json [--processes 2] [--threads 1]

Every figure comes from the executor's own setting: a process pinned to one core with
--threads threads (per core it runs on, in turn).
- Per-op costs, in a process pinned to each core, written to --graph-out as cost_us of device
  cpuI; the median of --repeats passes after --warmup. By default (--method executor) the
  passes are the executor's own (diviml.execute.runners.one_pass, every op on one device): an op is
  charged from the end of the node before it to its own end, so the executor's per-node work
  and the nodes folded into the op are in its cost. --method sequence times each op alone inside
  plain torch.fx passes; --method isolated repeats each op alone (diviml-profile's method), which
  reads 8-16% low on ResNet-18 because an op repeated alone runs on warm caches.
  --load alone (default) measures one process at a time, the other cores idle; --load all
  measures every process at once, as in a stream where every device is busy.
- Compute figures per device: peak FLOP rate, memory bandwidth, launch overhead.
- The link between two processes: gloo over loopback, the same transport the executor uses,
  with receives posted ahead as it posts them. Ping-pong of 4 KiB to 16 MiB tensors; half the
  round trip, fitted as latency + bytes / bandwidth by least squares. It is written as the link
  of every pair, since all pairs are loopback. Also measured: how long the sender itself spends
  in isend (sender_busy_share): gloo writes from the calling thread, so a copy occupies the
  sender's core. With --copies measured (the default) a share of half or more writes
  overlap_comm: false on every device, which both objectives model (docs/cost-model.md);
  --copies occupy / overlap force either.
- Several servers (--servers K): the platform holds K servers of --processes devices each
  (s0.cpu0, ..., as many identical copies of this machine), every device of server j measured
  on the core of its index. Links inside a server are the loopback figure; links between servers
  start as it too, until --between-nodes measures them.

Between nodes (--between-nodes, run on two servers as a two-node job, like the executor's
nodes: --nnodes 2 --node-rank I --rdzv-endpoint HOST:PORT --listen ADDR, or under torchrun):
the same ping-pong between a process of node 0 and one of node 1, over the address each node
listens on. Node 0 writes --platform with every link between two servers set to the measured
figure, to --platform-out.

    diviml-calibrate --between-nodes --nnodes 2 --node-rank 0 --rdzv-endpoint 10.0.0.1:29500 \
        --listen 10.0.0.1 --platform local.json --platform-out local.nodes.json
"""
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta

import torch
import torch.distributed as dist

from .. import tool_errors
from ..execute import nodes
from ..execute.layout import PlanError, load_json
from ..execute.measure import op_costs_in_executor_loop
from ..models.loading import add_model_arguments, model_from_args
from . import ops as profile_ops

TOOL = "diviml-calibrate"

SIZES = [4 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20]


def pin(core, threads):
    os.sched_setaffinity(0, {core})
    torch.set_num_threads(threads)


def measure_on_core(index, core, args, graph, queue):
    try:
        pin(core, args.threads)
        model, _, default = model_from_args(args, TOOL)
        shape = graph.get("source", {}).get("input_shape") or default
        example = torch.randn(*shape)
        if args.method == "executor":
            costs = op_costs_in_executor_loop(model.eval(), example, graph, args.warmup, args.repeats)
        elif args.method == "sequence":
            costs = profile_ops.profile_in_sequence(model, example, graph, torch.device("cpu"), args.warmup,
                                                    args.repeats)
        else:
            g = profile_ops.profile_graph(model, example, json.loads(json.dumps(graph)),
                                          [(torch.device("cpu"), "cpu")], args.warmup, args.repeats)
            costs = {n["id"]: n["cost_us"]["cpu"] for n in g["nodes"]}
        spec = profile_ops.measure_device(torch.device("cpu"), args.warmup, args.repeats)
        spec["measured"]["probe_us"] = profile_ops.probe_us(torch.device("cpu"))
        queue.put({"index": index, "costs": costs, "spec": spec})
    except BaseException as e:  # the parent reports it
        queue.put({"error": f"{type(e).__name__}: {e}"})


def pingpong(rank, core, meet, args, queue):
    try:
        pin(core, args.threads)
        if isinstance(meet, nodes.Cluster):  # between nodes: the run's store, --listen's interface
            dist.init_process_group("gloo", **meet.rendezvous(rank, 2, 120))
        else:  # a file store and loopback sockets only: nothing listens beyond this machine
            os.environ["GLOO_SOCKET_IFNAME"] = "lo"
            dist.init_process_group("gloo", store=dist.FileStore(meet, 2), rank=rank, world_size=2,
                                    timeout=timedelta(seconds=120))
        points, busy = [], []
        for size in SIZES:
            t = torch.zeros(size // 4, dtype=torch.float32)
            times, calls = [], []
            for it in range(args.warmup + args.repeats):
                # As the executor does: the receive is posted before the pass starts.
                back = torch.empty_like(t)
                work = dist.irecv(back, 1 - rank)
                dist.barrier()
                t0 = time.perf_counter()
                if rank == 0:
                    sent = dist.isend(t, 1)
                    calls.append((time.perf_counter() - t0) * 1e6)  # the sender's own time
                    sent.wait()
                    work.wait()
                else:
                    work.wait()
                    dist.send(t, 0)
                if it >= args.warmup:
                    times.append((time.perf_counter() - t0) * 1e6 / 2)
            points.append((size, statistics.median(times)))
            if rank == 0:
                busy.append((size, statistics.median(calls[args.warmup:])))
        queue.put({"rank": rank, **({"points": points, "busy": busy} if rank == 0 else {})})
        dist.destroy_process_group()
    except BaseException as e:
        queue.put({"error": f"{type(e).__name__}: {e}"})


def run_children(ctx, targets, timeout, cluster=None):
    """Runs each (function, arguments) in a forked process and gathers what each puts on the
    queue; across nodes (cluster), ends when any node fails (nodes.NodeLost)."""
    queue = ctx.Queue()
    procs = [ctx.Process(target=f, args=(*a, queue)) for f, a in targets]
    for p in procs:
        p.start()
    out, deadline = [], time.monotonic() + timeout
    try:
        while len(out) < len(procs) and time.monotonic() < deadline:
            try:
                out.append(queue.get(timeout=0.5))
            except Exception:
                if any(p.exitcode not in (None, 0) for p in procs) and queue.empty():
                    if cluster is not None:
                        cluster.lost_locally(f"{cluster.name(cluster.node)}: its ping-pong process died")
                    break
            if out and "error" in out[-1] and cluster is not None:
                cluster.lost_locally(f"{cluster.name(cluster.node)}: {out[-1]['error']}")
            if cluster is not None:
                cluster.check()
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
    for o in out:
        if "error" in o:
            raise SystemExit(f"diviml-calibrate: error: {o['error']}")
    return out


fit = profile_ops.fit_latency_bandwidth


def link_figures(link, args, medium):
    """The fitted link of a ping-pong's points, and whether copies overlap compute."""
    points = link["points"]
    latency, bandwidth = fit(points)
    # The share of a message's time its sender spends in isend itself, over the sizes of 256 KiB
    # and up: gloo writes to the socket from the calling thread, so the copy occupies the
    # sender's core (measured here 2026-11-29: most of it).
    busy_share = statistics.median(c / y for (b, y), (_, c) in zip(points, link["busy"]) if b >= 256 << 10)
    overlap = args.copies == "overlap" or (args.copies == "measured" and busy_share < 0.5)
    return {"latency_us": round(latency, 3), "bandwidth_gbps": round(bandwidth, 3), "medium": medium,
            "measured_points_bytes_us": [[x, round(y, 3)] for x, y in points],
            "sender_busy_points_bytes_us": [[x, round(y, 3)] for x, y in link["busy"]],
            "sender_busy_share": round(busy_share, 3)}, overlap


def between_nodes(args):
    """The ping-pong between a process of node 0 and one of node 1 (two nodes of a run, met as
    the executor's nodes meet); node 0 writes --platform with every link between two servers set
    to what it measured."""
    if not args.platform or not args.platform_out:
        raise SystemExit("diviml-calibrate: error: --between-nodes needs --platform IN and --platform-out OUT")
    launch = nodes.launch_of(args)
    if launch is None or launch[1] != 2:
        raise SystemExit("diviml-calibrate: error: --between-nodes runs as two nodes: --nnodes 2 --node-rank I "
                         "--rdzv-endpoint HOST:PORT (or torchrun --nnodes 2 --nproc_per_node 1)")
    platform = load_json(args.platform, "platform") if launch[0] == 0 else None
    pair = {"name": "ping-pong", "devices": [{"name": "a", "server": "node 0"}, {"name": "b", "server": "node 1"}]}
    cluster = nodes.Cluster(launch, pair, ["a", "b"], args)
    try:
        cluster.join({"job": nodes.digest_of({"repeats": args.repeats, "warmup": args.warmup, "threads": args.threads})})
        ctx = torch.multiprocessing.get_context("fork")
        core = sorted(os.sched_getaffinity(0))[launch[0] % len(os.sched_getaffinity(0))]
        got = run_children(ctx, [(pingpong, (launch[0], core, cluster, args))], args.timeout, cluster)
        if launch[0] == 1:
            cluster.finish()
            print(f"diviml-calibrate: node 1 took its part in the ping-pong with node 0 ({cluster.host}:{cluster.port})")
            return 0
        cluster.finish()
    except BaseException:
        cluster.close()
        raise
    server = {d.get("name"): d.get("server", "node0") for d in platform.get("devices", [])}
    figures, _ = link_figures(got[0], args, "gloo between two nodes (TCP), measured by diviml-calibrate --between-nodes")
    names = [d.get("name") for d in platform.get("devices", [])]
    links = [x for x in platform.get("links", []) if server.get(x.get("a")) == server.get(x.get("b"))]
    links += [{"a": a, "b": b, **figures} for i, a in enumerate(names) for b in names[i + 1:] if server[a] != server[b]]
    platform["links"] = links
    platform["description"] = (platform.get("description", "") + " Links between servers measured between two "
                               "nodes by diviml-calibrate --between-nodes.").strip()
    with open(args.platform_out, "w") as f:
        json.dump(platform, f, indent=2)
        f.write("\n")
    print(f"{args.platform_out}: between servers {figures['latency_us']:.1f} us + bytes / "
          f"{figures['bandwidth_gbps']:.2f} GB/s (node 0 to node 1, {cluster.listen} to {cluster.host}:{cluster.port})")
    return 0


def main(argv=None):
    ap = tool_errors.ArgumentParser(prog=TOOL, description=__doc__.split("\n\n")[0])
    add_model_arguments(ap, required=False)
    ap.add_argument("--graph", help="graph file exported from the same model")
    ap.add_argument("--graph-out", help="the graph with measured cost_us per process")
    ap.add_argument("--platform-out", required=True, help="the platform of the processes and their link")
    ap.add_argument("--processes", type=int, default=2, help="devices per server (one process each; default 2)")
    ap.add_argument("--servers", type=int, default=1, help="servers of --processes devices each, copies of this "
                                                           "machine (default 1)")
    ap.add_argument("--between-nodes", action="store_true",
                    help="measure the link between two nodes (a two-node job: --nnodes 2 --node-rank I "
                         "--rdzv-endpoint HOST:PORT) and write it into --platform's links between servers")
    ap.add_argument("--platform", help="--between-nodes: the platform whose links between servers it sets")
    nodes.add_node_arguments(ap)
    ap.add_argument("--threads", type=int, default=1, help="threads per process (default 1)")
    ap.add_argument("--method", choices=["executor", "sequence", "isolated"], default="executor",
                    help="executor (default): each op timed in the executor's own passes, its per-node work "
                         "included; sequence: each op alone inside plain torch.fx passes; isolated: each op "
                         "repeated alone (diviml-profile's method, on warm caches)")
    ap.add_argument("--load", choices=["alone", "all"], default="alone",
                    help="alone (default): each process measured with the other cores idle, as in most of a "
                         "latency plan; all: every process measured at once, as in a stream where every device "
                         "is busy (shared caches and memory bandwidth)")
    ap.add_argument("--copies", choices=["measured", "occupy", "overlap"], default="measured",
                    help="measured (default): overlap_comm: false on every device when the sender is busy for "
                         "at least half of a copy (gloo's sends are), else copies overlap compute; occupy / "
                         "overlap: either, whatever was measured")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--timeout", type=tool_errors.positive_finite, default=1800)
    args = ap.parse_args(argv)
    if args.threads < 1 or args.repeats < 1 or args.warmup < 0:
        raise SystemExit("diviml-calibrate: error: --threads and --repeats must be at least 1, --warmup at least 0")
    if args.between_nodes:
        try:
            return between_nodes(args)
        except (nodes.NodeError, PlanError) as e:
            raise SystemExit(f"diviml-calibrate: error: {e}")
        except nodes.NodeLost as e:
            print(f"diviml-calibrate: error: {e}", file=sys.stderr)
            return 4
    if not (args.torchvision or args.module) or not args.graph or not args.graph_out:
        raise SystemExit("diviml-calibrate: error: --torchvision or --module, --graph and --graph-out are needed "
                         "(or --between-nodes)")
    if args.processes < 1 or args.servers < 1 or args.processes * args.servers < 2:
        raise SystemExit("diviml-calibrate: error: --processes and --servers must be at least 1, with 2 devices or more in all")
    try:
        with open(args.graph) as f:
            graph = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise SystemExit(f"diviml-calibrate: error: {args.graph}: {e}")
    cores = sorted(os.sched_getaffinity(0))
    K, P = args.servers, args.processes
    names = [f"cpu{i}" for i in range(P)] if K == 1 else [f"s{j}.cpu{i}" for j in range(K) for i in range(P)]
    # Device g (in file order) is the executor's rank g, pinned to core g modulo the cores (each
    # node pins its processes by their rank, so on K servers too): it is measured on that core.
    core_of = [cores[g % len(cores)] for g in range(len(names))]
    ctx = torch.multiprocessing.get_context("fork")
    t0 = time.time()
    on_core, measured = sorted(set(core_of), key=core_of.index), {}
    if args.load == "alone":
        for i, core in enumerate(on_core):  # one core at a time: nothing else runs beside it
            measured[core] = run_children(ctx, [(measure_on_core, (i, core, args, graph))], args.timeout)[0]
    else:  # every process at once, as in a stream where all devices are busy
        got = run_children(ctx, [(measure_on_core, (i, core, args, graph)) for i, core in enumerate(on_core)],
                           args.timeout)
        measured = {on_core[o["index"]]: o for o in got}
    folder = tempfile.mkdtemp(prefix="diviml-calibrate-")
    port = os.path.join(folder, "store")  # the rendezvous file of the ping-pong pair
    try:
        link = [o for o in run_children(ctx, [(pingpong, (r, core_of[r], port, args)) for r in range(2)], args.timeout)
                if "points" in o][0]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    figures, overlap = link_figures(link, args, "loopback TCP (gloo), measured")
    for n in graph["nodes"]:
        n["cost_us"] = {name: measured[core_of[g]]["costs"][n["id"]] for g, name in enumerate(names)}
    graph.setdefault("source", {})["profile"] = {
        "tool": TOOL, "torch": torch.__version__, "threads": args.threads,
        "processes": len(names), "method": args.method, "load": args.load, "repeats": args.repeats, "warmup": args.warmup, "statistic": "median",
        "pinned_cores": core_of}
    with open(args.graph_out, "w") as f:
        json.dump(graph, f, indent=1)
        f.write("\n")
    where = f"{K} servers of {P}" if K > 1 else f"{P}"
    plat = {"format": "diviml.platform/1", "name": f"local-{K}x{P}cpu-measured" if K > 1 else f"local-{P}cpu-measured",
            "description": f"Measured by diviml-calibrate with torch {torch.__version__}: {where} "
                           f"processes of {args.threads} thread(s), each pinned to one core, gloo over loopback.",
            "host": names[0],
            "devices": [{"name": nm, "kind": "cpu", "server": "local" if K == 1 else nm.split(".")[0],
                         **measured[core_of[g]]["spec"], **({} if overlap else {"overlap_comm": False})}
                        for g, nm in enumerate(names)],
            "links": [{"a": a, "b": b, **figures} for i, a in enumerate(names) for b in names[i + 1:]]}
    with open(args.platform_out, "w") as f:
        json.dump(plat, f, indent=2)
        f.write("\n")
    latency, bandwidth, busy_share = figures["latency_us"], figures["bandwidth_gbps"], figures["sender_busy_share"]
    total = {nm: sum(measured[core_of[g]]["costs"].values()) for g, nm in enumerate(names)}
    print(f"{args.graph_out}: {len(graph['nodes'])} nodes measured on {len(on_core)} core(s) in "
          f"{time.time() - t0:.1f} s (" + ", ".join(f"{k}: sum {v:.0f} us" for k, v in total.items()) + "); "
          f"{args.platform_out}: link {latency:.1f} us + bytes / {bandwidth:.2f} GB/s, the sender busy for "
          f"{busy_share:.0%} of it: copies {'overlap compute' if overlap else 'occupy the devices (overlap_comm false)'}")
    return 0


def console():
    """The console command's entry point: one-line errors, exit status by class."""
    tool_errors.run(main, TOOL)
