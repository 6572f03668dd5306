"""Measure every node of a graph file on the devices PyTorch sees, and the links between them.

    diviml-profile --torchvision resnet18 --graph models/resnet18.json \\
        -o models/measured/resnet18.json [--platform-out platforms/measured-local.json] \\
        [--device cpu=cpu] [--device cuda:0=gpu0] [--threads N] [--repeats 30] [--warmup 5]

The graph must come from diviml-export for the same model (node ids are FX node names).
The model is traced again, run once to capture every node's real inputs, and then each node is
timed alone on each device: `warmup` untimed calls, then the median of `repeats` timed calls
(CUDA synchronised). The medians go into `cost_us` under the device names given by --device
(default: cpu=cpu, and cuda:N=gpuN for every CUDA device present).

With --platform-out it also writes a platform file for this machine: per device the measured
peak FLOP rate (a large fp32 matmul), memory bandwidth (a large copy: bytes read + written per
second) and launch overhead (the median of a one-element add); per CUDA device the host<->device
link, fitted as latency + bytes / bandwidth (least squares in relative error) over copies
from 4 KiB to 64 MiB.
"""
import copy
import json
import os
import statistics
import time

import torch
import torch.fx
from torch.fx.passes.shape_prop import ShapeProp

from .. import tool_errors
from ..export import fx
from ..models.loading import add_model_arguments, model_from_args

TOOL = "diviml-profile"


def parse_devices(specs):
    if not specs:
        specs = ["cpu=cpu"] + [f"cuda:{i}=gpu{i}" for i in range(torch.cuda.device_count())]
    out = []
    for s in specs:
        if "=" not in s:
            raise SystemExit(f"{TOOL}: error: --device '{s}' must look like TORCH_DEVICE=NAME")
        dev, name = s.split("=", 1)
        try:
            d = torch.device(dev)
        except RuntimeError as e:
            raise SystemExit(f"{TOOL}: error: --device '{s}': {e}")
        if d.type == "cuda" and (not torch.cuda.is_available() or (d.index or 0) >= torch.cuda.device_count()):
            raise SystemExit(f"{TOOL}: error: --device '{s}': no such CUDA device here")
        out.append((d, name))
    return out


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_us(fn, device, warmup, repeats):
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(times)


class Capture(torch.fx.Interpreter):
    """Runs the traced module once and keeps the concrete args of the wanted nodes."""

    def __init__(self, gm, wanted):
        super().__init__(gm)
        self.wanted = wanted
        self.inputs = {}

    def run_node(self, n):
        if n.name in self.wanted:
            args, kwargs = self.fetch_args_kwargs_from_env(n)
            self.inputs[n.name] = (args, kwargs)
        return super().run_node(n)


def to_device(value, device):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return value


def node_callable(gm, node, args, kwargs, device):
    args, kwargs = to_device(args, device), to_device(kwargs, device)
    if node.op == "call_module":
        mod = copy.deepcopy(gm.get_submodule(node.target)).to(device).eval()
        return lambda: mod(*args, **kwargs)
    if node.op == "call_function":
        return lambda: node.target(*args, **kwargs)
    if node.op == "call_method":
        return lambda: getattr(args[0], node.target)(*args[1:], **kwargs)
    raise ValueError(node.op)


def profile_graph(model, example, graph, devices, warmup, repeats):
    fx.patch_fx_for_python311()
    model.eval()
    gm = torch.fx.symbolic_trace(model)
    ids = {n["id"] for n in graph["nodes"]}
    fx_nodes = {n.name: n for n in gm.graph.nodes}
    missing = sorted(ids - set(fx_nodes))
    if missing:
        raise SystemExit(f"{TOOL}: error: graph node '{missing[0]}' is not in the traced model "
                         f"({len(missing)} missing): was the graph exported from this model?")
    cap = Capture(gm, ids)
    with torch.no_grad():
        cap.run(example)
    with torch.no_grad():
        for n in graph["nodes"]:
            node = fx_nodes[n["id"]]
            args, kwargs = cap.inputs[n["id"]]
            costs = n.setdefault("cost_us", {})
            for device, name in devices:
                fn = node_callable(gm, node, args, kwargs, device)
                costs[name] = round(median_us(fn, device, warmup, repeats), 3)
    return graph


class SequenceTimer(torch.fx.Interpreter):
    """Runs the whole traced module and times every node as it runs, in the model's order, with
    each value freed after its last use (as a plain forward does). A node meets the caches the
    preceding nodes left, not the warm ones of a node repeated alone."""

    def __init__(self, gm, device):
        super().__init__(gm)
        self.device = device
        self.times = {}

    def run_node(self, n):
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        sync(self.device)
        t0 = time.perf_counter()
        value = getattr(self, n.op)(n.target, args, kwargs)
        sync(self.device)
        self.times.setdefault(n.name, []).append((time.perf_counter() - t0) * 1e6)
        return value


def profile_in_sequence(model, example, graph, device, warmup, repeats):
    """Per graph node, the median over `repeats` whole-model runs (after `warmup`) of its time in
    the run, plus the time of the nodes the exporter folds into it (getitem, flatten, ...), which
    run right after it wherever it is placed. Python-level bookkeeping is not counted: the
    executor takes its values from a reference run."""
    fx.patch_fx_for_python311()
    model = model.to(device).eval()
    gm = torch.fx.symbolic_trace(model)
    example = example.to(device)
    with torch.no_grad():
        ShapeProp(gm).propagate(example)
    ids = {n["id"] for n in graph["nodes"]}
    owner, rep = {}, {}  # fx node name -> graph node id it is charged to
    for node in gm.graph.nodes:
        if node.op == "output":
            continue
        r = fx.representative(gm, node, rep, graph.get("source", {}).get("fold_batchnorm", False))
        rep[node.name] = ("op", node.name) if r is None else r
        if rep[node.name][0] == "op":
            owner[node.name] = rep[node.name][1]
    missing = sorted(ids - set(owner))
    if missing:
        raise SystemExit(f"{TOOL}: error: graph node '{missing[0]}' is not an op of the traced model "
                         f"({len(missing)} missing): was the graph exported from this model?")
    timer = SequenceTimer(gm, device)
    with torch.no_grad():
        for it in range(warmup + repeats):
            if it == warmup:
                timer.times = {}
            timer.run(example)
    per_run = {}
    for name, target in owner.items():
        if target in ids:
            ts = timer.times.get(name, [0.0] * repeats)
            acc = per_run.setdefault(target, [0.0] * len(ts))
            for i, t in enumerate(ts):
                acc[i] += t
    return {k: round(statistics.median(v), 3) for k, v in per_run.items()}


def fit_latency_bandwidth(points):
    """latency_us, bandwidth_gbps of y = latency + x / bandwidth, least squares in relative
    error (weights 1 / y^2), so that small messages, where the latency is, count as much as
    large ones."""
    w = [1.0 / (y * y) for _, y in points]
    sw = sum(w)
    sx = sum(wi * x for wi, (x, _) in zip(w, points))
    sy = sum(wi * y for wi, (_, y) in zip(w, points))
    sxx = sum(wi * x * x for wi, (x, _) in zip(w, points))
    sxy = sum(wi * x * y for wi, (x, y) in zip(w, points))
    slope = (sw * sxy - sx * sy) / (sw * sxx - sx * sx)
    latency = (sy - slope * sx) / sw
    if latency <= 0 or slope <= 0:
        # Noise (a loaded machine) can tilt the fit below the origin; no link sends in no time.
        # Then the bandwidth is the large messages' (the two largest sizes), and the latency what
        # is left of the smallest message's time: the least of each point's time less its bytes.
        (x1, y1), (x2, y2) = sorted(points)[-2:]
        slope = max((y2 - y1) / (x2 - x1), 1e-12) if x2 > x1 else max(y2 / x2, 1e-12)
        latency = max(min(y - x * slope for x, y in points), 1e-3 * min(y for _, y in points))
    return latency, 1.0 / (slope * 1e3)


def fit_link(device, warmup, repeats):
    sizes = [4 << 10, 64 << 10, 1 << 20, 8 << 20, 64 << 20]
    pts = []
    for b in sizes:
        host = torch.empty(b // 4, dtype=torch.float32).pin_memory()
        pts.append((b, median_us(lambda: host.to(device, non_blocking=False), device, warmup, max(5, repeats // 3))))
    latency, bandwidth = fit_latency_bandwidth(pts)
    return {"latency_us": round(latency, 3), "bandwidth_gbps": round(bandwidth, 3),
            "measured_points_bytes_us": [[x, round(y, 3)] for x, y in pts]}


def probe_us(device, repeats=9):
    """A fixed small workload (a 192x192 fp32 matmul, then an 8 MiB copy), its median time in us
    after 3 warm-up runs: diviml-calibrate keeps it per device (`measured.probe_us`), and the executor
    runs it again beside its runs, to tell a device that has become slower or faster since it was
    calibrated (another tenant on the core, a clock that changed). Not a convolution: on this
    machine a small convolution ran 3x faster in a process that had run a large one before
    (oneDNN's state), so its time said more about the process than about the core."""
    a = torch.randn(192, 192, device=device)
    b = torch.randn(192, 192, device=device)
    src = torch.ones(2 << 20, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)

    def work():
        torch.mm(a, b)
        dst.copy_(src)

    return round(median_us(work, device, 3, repeats), 1)


def measure_device(device, warmup, repeats):
    """Peak FLOP rate, memory bandwidth and launch overhead of one device, as PyTorch sees it.

    Peak: the better of a 1024^3 fp32 matmul and a 3x3 convolution (256 channels, 56x56), since
    builds differ in which kernel is fast (Debian's CPU torch runs matmul on generic BLAS but
    convolutions on oneDNN). Bandwidth: a 128 MiB copy into an existing buffer, read + write
    (far beyond any cache).
    """
    n = 1024
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    reps = max(5, repeats // 3)
    mm = 2.0 * n ** 3 / (median_us(lambda: a @ b, device, 2, reps) * 1e3)
    x = torch.randn(1, 256, 56, 56, device=device)
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).to(device).eval()
    with torch.no_grad():
        cv = 2.0 * 256 * 256 * 9 * 56 * 56 / (median_us(lambda: conv(x), device, 2, reps) * 1e3)
    src = torch.empty(32 << 20, dtype=torch.float32, device=device)  # 128 MiB
    dst = torch.empty_like(src)
    t_copy = median_us(lambda: dst.copy_(src), device, 2, max(5, repeats // 5))
    one = torch.ones(1, device=device)
    t_launch = median_us(lambda: one + one, device, warmup, repeats * 10)
    return {"peak_gflops": round(max(mm, cv), 1),
            "mem_bandwidth_gbps": round(2.0 * src.numel() * 4 / (t_copy * 1e3), 1),
            "launch_overhead_us": round(t_launch, 3),
            "measured": {"matmul_gflops": round(mm, 1), "conv3x3_gflops": round(cv, 1)}}


def main(argv=None):
    ap = tool_errors.ArgumentParser(prog=TOOL, description=__doc__.split("\n\n")[0])
    add_model_arguments(ap)
    ap.add_argument("--graph", required=True, help="graph file exported from the same model")
    ap.add_argument("-o", "--output", required=True, help="graph file to write with measured cost_us")
    ap.add_argument("--platform-out", help="also write a measured platform file for this machine")
    ap.add_argument("--device", action="append", help="TORCH_DEVICE=NAME, repeatable (default cpu=cpu, cuda:N=gpuN)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads for torch (default: all cores)")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0 or args.threads < 1:
        raise SystemExit("diviml-profile: error: --repeats and --threads must be >= 1, --warmup >= 0")
    torch.set_num_threads(args.threads)
    devices = parse_devices(args.device)
    try:
        with open(args.graph) as f:
            graph = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise SystemExit(f"{TOOL}: error: {args.graph}: {e}")
    model, _, default = model_from_args(args, TOOL)
    # A module's input shape only from the graph: its default is a guess.
    shape = graph.get("source", {}).get("input_shape") or (default if args.torchvision else None)
    if not shape:
        raise SystemExit(f"{TOOL}: error: {args.graph}: no source.input_shape; re-export it with fx.py")
    t0 = time.time()
    graph = profile_graph(model, torch.randn(*shape), graph, devices, args.warmup, args.repeats)
    # The whole model, timed the same way: what one inference on one device really takes,
    # to set beside the plan's prediction (the sum of the per-node medians on that device).
    whole = {}
    with torch.no_grad():
        for d, name in devices:
            m = copy.deepcopy(model).to(d).eval()
            x = torch.randn(*shape).to(d)
            whole[name] = round(median_us(lambda: m(x), d, args.warmup, args.repeats), 1)
    graph.setdefault("source", {})["profile"] = {
        "tool": TOOL, "torch": torch.__version__, "threads": args.threads,
        "repeats": args.repeats, "warmup": args.warmup, "statistic": "median",
        "devices": {name: str(d) for d, name in devices}, "host_cpus": os.cpu_count(),
        "whole_model_us": whole}
    with open(args.output, "w") as f:
        json.dump(graph, f, indent=1)
        f.write("\n")
    total = {name: sum(n["cost_us"][name] for n in graph["nodes"]) for _, name in devices}
    print(f"{args.output}: {len(graph['nodes'])} nodes measured in {time.time() - t0:.1f} s; " +
          ", ".join(f"{k}: sum of node medians {v:.0f} us, whole model {whole[k]:.0f} us" for k, v in total.items()))
    if args.platform_out:
        plat = {"format": "diviml.platform/1", "name": "measured-local",
                "description": f"Measured by diviml-profile with torch {torch.__version__}, "
                               f"{args.threads} CPU threads.",
                "host": devices[0][1], "devices": [], "links": []}
        host = None
        for d, name in devices:
            spec = measure_device(d, args.warmup, args.repeats)
            plat["devices"].append({"name": name, "kind": d.type, "server": "local", **spec})
            if d.type == "cpu" and host is None:
                host = name
        plat["host"] = host or devices[0][1]
        for d, name in devices:
            if d.type == "cuda":
                plat["links"].append({"a": plat["host"], "b": name, **fit_link(d, args.warmup, args.repeats)})
        with open(args.platform_out, "w") as f:
            json.dump(plat, f, indent=2)
            f.write("\n")
        print(f"{args.platform_out}: " + "; ".join(
            f"{x['name']} {x['peak_gflops']} GFLOP/s, {x['mem_bandwidth_gbps']} GB/s, launch {x['launch_overhead_us']} us"
            for x in plat["devices"]))


def console():
    """The console command's entry point: one-line errors, exit status by class."""
    tool_errors.run(main, TOOL)
