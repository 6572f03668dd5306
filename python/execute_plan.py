#!/usr/bin/env python3
"""Run a DiviML latency plan with PyTorch: one process per device, each running the ops the plan
put on its device in the plan's order, tensors sent as the plan's transfers say.

The model is given as to the exporter (--torchvision NAME or --module PKG.MOD:FACTORY, with an
input shape), with the graph file the exporter wrote for it, the platform and the plan. Every
process is a CPU process (gloo over loopback), pinned to its own core with one thread; a plan
for GPU devices runs that way only with --all-cpu (CUDA execution is not implemented yet).
The outputs at the host are compared with the unsplit model's, run in this process with the
same settings: on CPU they are bit-exact (max_abs_diff 0).

Placement follows the exporter's rule (export_fx.representative): an op of the graph runs where
the plan puts it; a node the exporter folds (getitem, flatten, dropout, ...) runs where its
representative op runs (the model input: on the host); Python-level bookkeeping and attributes
are the values of the reference run (static for the fixed input shape). A tensor moves once per
destination device, sent as soon as it is made (non-blocking) and received where first needed.

Nothing listens beyond loopback (127.0.0.1) and nothing is unpickled from the peers: tensors go
over torch.distributed's point-to-point sends into buffers of known shape.

Across servers (--nnodes N --node-rank I --rdzv-endpoint HOST:PORT, or under torchrun with
--nproc_per_node 1): one launch per server of the platform, each forking its server's device
processes; sockets bind to --listen (default 127.0.0.1). See nodes.py and docs/executor.md.
"""
import argparse
import json
import os
import queue as queue_module
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.fx
from torch.fx.passes.shape_prop import ShapeProp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tool_errors  # noqa: E402
from export_fx import add_model_arguments, model_from_args, patch_fx_for_python311, representative  # noqa: E402
import nodes  # noqa: E402
from profile_ops import probe_us  # noqa: E402


class PlanError(Exception):
    """Bad input: one line, exit status 2."""


def load_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise PlanError(f"{path}: cannot read the {what}: {e.strerror}")
    except json.JSONDecodeError as e:
        raise PlanError(f"{path}: the {what} is not JSON ({e.msg} at line {e.lineno})")


def build_model(args):
    model, _, shape = model_from_args(args, "execute_plan")
    model.eval()
    return model, torch.randn(*shape)


def tensors_of(value):
    """The tensors of a node's value, in order (a tensor, or a tuple/list of them)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [v for v in value if isinstance(v, torch.Tensor)]
    return []


def to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.to("cpu")
    if isinstance(value, (tuple, list)):
        return type(value)(to_cpu(v) for v in value)
    return value


def rebuild(reference, tensors):
    """A value shaped like `reference` with its tensors replaced, in order."""
    if isinstance(reference, torch.Tensor):
        return tensors[0]
    it = iter(tensors)
    return type(reference)(next(it) if isinstance(v, torch.Tensor) else v for v in reference)


class Layout:
    """Where every FX node runs, each device's order, and the messages between devices."""

    def __init__(self, gm, graph, platform, plan, values, input_start=-1.0):
        self.gm = gm
        devices = [d["name"] for d in platform.get("devices", [])]
        host = platform.get("host")
        if host not in devices:
            raise PlanError(f"platform: host '{host}' is not one of its devices")
        placed, start = {}, {}
        for p in plan.get("placements", []):
            if p.get("device") not in devices:
                raise PlanError(f"plan: node '{p.get('node')}' is on device '{p.get('device')}', "
                                f"which platform '{platform.get('name')}' lacks")
            if p["node"] in placed:
                raise PlanError(f"plan: node '{p['node']}' is placed twice (on '{placed[p['node']]}' and "
                                f"'{p['device']}')")
            placed[p["node"]], start[p["node"]] = p["device"], float(p.get("start_us", 0))
        ids = [n["id"] for n in graph.get("nodes", [])]
        missing = [i for i in ids if i not in placed]
        if missing:
            raise PlanError(f"plan: graph node '{missing[0]}' has no placement (plan and graph do not match)")
        extra = [i for i in placed if i not in set(ids)]
        if extra:
            raise PlanError(f"plan: node '{extra[0]}' is not in the graph (plan and graph do not match)")
        rep, self.where, self.key = {}, {}, {}
        fold_bn = bool(graph.get("source", {}).get("fold_batchnorm", False))
        order = {n.name: i for i, n in enumerate(gm.graph.nodes)}
        ops = []
        for node in gm.graph.nodes:
            if node.op == "output":
                continue
            r = representative(gm, node, rep, fold_bn)
            if r is None:
                if node.name not in placed:
                    raise PlanError(f"graph: the model's op '{node.name}' is not in the graph file "
                                    "(graph and model do not match)")
                rep[node.name] = ("op", node.name)
                ops.append(node.name)
                self.where[node.name] = placed[node.name]
                self.key[node.name] = (start[node.name], order[node.name])
            else:
                rep[node.name] = r
                if r[0] == "input":
                    self.where[node.name] = host
                    self.key[node.name] = (input_start, order[node.name])
                elif r[0] == "op":
                    self.where[node.name] = placed[r[1]]
                    self.key[node.name] = (start[r[1]], order[node.name])
                else:
                    self.where[node.name] = None  # a constant of the reference run
        self.owner = {name: r[1] for name, r in rep.items() if r[0] == "op"}  # FX node -> graph op
        self.plan_span = {p["node"]: (float(p.get("start_us", 0)), float(p.get("end_us", 0)))
                          for p in plan.get("placements", [])}
        if set(ops) != set(ids):
            other = sorted(set(ids) - set(ops))
            raise PlanError(f"graph: node '{other[0]}' is not an op of the model (graph and model do not match)")
        # One process per device that runs something, the host first (rank 0).
        used = [host] + [d for d in devices if d != host and d in self.where.values()]
        self.rank = {d: i for i, d in enumerate(used)}
        self.devices = used
        self.host = host
        self.output = next(n for n in gm.graph.nodes if n.op == "output")
        # Per device: its nodes in the plan's order (folded nodes right after their op).
        self.local = {d: [] for d in used}
        for node in gm.graph.nodes:
            d = self.where.get(node.name)
            if d is not None and node.op != "output":
                self.local[d].append(node)
        for d in used:
            self.local[d].sort(key=lambda n: self.key[n.name])
        # Messages: per tensor node and destination device, one tag per tensor of its value.
        self.values = values
        self.sends = {}  # node name -> [(dest device, first tag)]
        tag = 1
        for node in gm.graph.nodes:
            d = self.where.get(node.name)
            if d is None or node.op == "output":
                continue
            dests = []
            for user in node.users:
                e = self.host if user.op == "output" else self.where.get(user.name)
                if e is not None and e != d and e not in dests:
                    dests.append(e)
            self.sends[node.name] = []
            for e in dests:
                self.sends[node.name].append((e, tag))
                tag += max(1, len(tensors_of(values[node.name])))
        self.tag_of = {(name, e): t for name, lst in self.sends.items() for e, t in lst}
        self.transfers = sum(len(v) for v in self.sends.values())
        # Per device: after its i-th node, the values no later local node (nor the host's
        # outputs) reads. Dropping them lets the allocator reuse their memory, as a plain
        # forward does; kept, every pass touches fresh pages (ResNet-18: 19% slower).
        self.free_after = {}
        for d in used:
            last = {}
            for i, node in enumerate(self.local[d]):
                last[node.name] = i
                for a in node.all_input_nodes:
                    if self.where.get(a.name) is not None:
                        last[a.name] = i
            keep = {a.name for a in self.output.all_input_nodes} if d == host else set()
            frees = [[] for _ in self.local[d]]
            for name, i in last.items():
                if name not in keep:
                    frees[i].append(name)
            self.free_after[d] = frees


class StreamLayout:
    """A throughput plan: per lane, a Layout of where its nodes run; per device, its cyclic order
    of (lane, node) tasks with their delays; the messages of every input told apart by tag.

    In device round r, a device runs its tasks in their order by start; a task of lane l with
    delay d works on input (r - d) * lanes + l (docs/formats.md, throughput plans). Within one
    input, a device meets its tasks in the order (delay, start)."""

    def __init__(self, gm, graph, platform, plan, values):
        self.lanes = int(plan.get("lanes", 1))
        self.period_us = float(plan.get("period_us", 0.0))
        if self.lanes < 1 or self.period_us <= 0:
            raise PlanError("plan: a throughput plan needs lanes >= 1 and period_us > 0")
        per_lane = [[] for _ in range(self.lanes)]
        delay = [{} for _ in range(self.lanes)]
        for p in plan.get("placements", []):
            lane = p.get("lane", 0)
            if not isinstance(lane, int) or not 0 <= lane < self.lanes:
                raise PlanError(f"plan: node '{p.get('node')}' has lane {lane!r}, not one of the plan's "
                                f"{self.lanes} lane(s)")
            if p.get("node") in delay[lane]:
                raise PlanError(f"plan: node '{p.get('node')}' is placed twice in lane {lane}")
            per_lane[lane].append(p)
            delay[lane][p.get("node")] = int(p.get("delay", 0))
        round_us = self.lanes * self.period_us
        self.lay = []
        for lane in range(self.lanes):
            try:
                self.lay.append(Layout(gm, graph, platform, {"placements": per_lane[lane]}, values,
                                       input_start=lane * self.period_us - 1e-3))
            except PlanError as e:
                raise PlanError(f"{e} (lane {lane})")
        base = self.lay[0]
        self.gm, self.values, self.host, self.output = gm, values, base.host, base.output
        devices = [d["name"] for d in platform.get("devices", [])]
        used = {d for lay in self.lay for d in lay.devices}
        self.devices = [self.host] + [d for d in devices if d != self.host and d in used]
        self.rank = {d: i for i, d in enumerate(self.devices)}
        self.tags_per_lane = 1 + max(max((t + len(tensors_of(values[n])) for (n, _), t in lay.tag_of.items()),
                                         default=1) for lay in self.lay)
        self.transfers = sum(lay.transfers for lay in self.lay)
        order = {n.name: i for i, n in enumerate(gm.graph.nodes)}

        def delay_of(lane, name):
            owner = self.lay[lane].owner.get(name)
            return delay[lane].get(owner, 0) if owner is not None else 0

        # Per device: its tasks (lane, node, delay) in cyclic order (by start within the round).
        self.tasks = {d: [] for d in self.devices}
        for lane, lay in enumerate(self.lay):
            for d, members in lay.local.items():
                for node in members:
                    self.tasks[d].append((lay.key[node.name], lane, node, delay_of(lane, node.name)))
        for d in self.devices:
            self.tasks[d].sort(key=lambda t: (t[0], t[1]))
        self.max_delay = max((t[3] for ts in self.tasks.values() for t in ts), default=0)
        # Frees: per (lane, node run here), the values of its input that no later task of that
        # input on this device reads (in the order (delay, start)); the host keeps the outputs.
        self.frees = {}
        outs = {a.name for a in self.output.all_input_nodes}
        for d in self.devices:
            for lane, lay in enumerate(self.lay):
                mine = sorted(((t[3], t[0]), t[2]) for t in self.tasks[d] if t[1] == lane)
                last = {}
                for key, node in mine:
                    last[node.name] = key
                    for a in node.all_input_nodes:
                        if lay.where.get(a.name) is not None:
                            last[a.name] = key
                for name, key in last.items():
                    if not (d == self.host and name in outs):
                        self.frees.setdefault((d, lane, key), []).append(name)
        self.round_us = round_us

    def tag(self, lane, base_tag, q):
        return base_tag + (lane + q * self.lanes) * self.tags_per_lane


def reference_values(gm, example):
    values = {}

    class Capture(torch.fx.Interpreter):
        def run_node(self, n):
            v = super().run_node(n)
            values[n.name] = v
            return v

    with torch.no_grad():
        out = Capture(gm).run(example)
    return values, out


def run_node(gm, node, args, kwargs):
    if node.op == "call_module":
        return gm.get_submodule(node.target)(*args, **kwargs)
    if node.op == "call_function":
        return node.target(*args, **kwargs)
    if node.op == "call_method":
        return getattr(args[0], node.target)(*args[1:], **kwargs)
    if node.op == "get_attr":
        obj = gm
        for part in node.target.split("."):
            obj = getattr(obj, part)
        return obj
    raise RuntimeError(f"node '{node.name}': cannot run op kind '{node.op}'")


class Received:
    """A receive posted ahead over gloo: wait() gives the tensor on this process's device."""

    def __init__(self, work, buf, device):
        self.work, self.buf, self.device = work, buf, device

    def wait(self):
        self.work.wait()
        return self.buf if self.device.type == "cpu" else self.buf.to(self.device)


class InOrder:
    """A receive taken in its sender's order (Wire.take)."""

    def __init__(self, wire, src, tag):
        self.wire, self.src, self.tag = wire, src, tag

    def wait(self):
        return self.wire.take(self.src, self.tag)


class Wire:
    """Moves tensors between the device processes.

    gloo between CPU processes, and between a CPU and a GPU process (the CUDA tensor is staged
    through host memory). NCCL between two GPU processes (--transport auto): its point-to-point
    messages have no tags and match in the order they are issued, so such a receiver takes its
    sender's messages in the sender's order (`order`: per source rank, the (tag, like) pairs in
    the order that rank sends them to this one), keeping the ones that come before the one it
    needs. --transport ordered takes every pair's messages that way over gloo: the NCCL order
    logic, tested where there is no GPU."""

    def __init__(self, rank, devices, nccl=None, ordered=(), order=None):
        self.nccl, self.nccl_ranks = nccl if isinstance(nccl, tuple) else (nccl, set(range(len(devices))))
        self.rank, self.devices = rank, devices
        self.device = devices[rank]
        self.ordered = set(ordered)
        if nccl is not None:
            self.ordered |= {r for r, d in enumerate(devices) if self.nccl_pair(r)}
        self.consts = {}
        self.kept = 0  # messages taken in order ahead of the one needed, over every pass
        self.begin(order or {})

    def begin(self, order):
        """A new pass (or stream) whose messages come in `order`."""
        self.queue = {src: list(reversed(order.get(src, []))) for src in self.ordered}
        self.arrived = {}

    def nccl_pair(self, other):
        return (self.nccl is not None and other in self.nccl_ranks and self.device.type == "cuda"
                and self.devices[other].type == "cuda")

    def isend(self, t, dst, tag):
        if self.nccl_pair(dst):
            t = t.contiguous()
            return dist.isend(t, dst, group=self.nccl), t
        t = t.detach().to("cpu").contiguous()
        return dist.isend(t, dst, tag=tag), t

    def post(self, like, src, tag):
        if src in self.ordered:
            return InOrder(self, src, tag)
        buf = torch.empty_like(like, device="cpu", memory_format=torch.contiguous_format)
        return Received(dist.irecv(buf, src, tag=tag), buf, self.device)

    def take(self, src, tag):
        while (src, tag) not in self.arrived:
            if not self.queue.get(src):
                raise RuntimeError(f"no message of tag {tag} comes from rank {src} (plan and order disagree)")
            t, like = self.queue[src].pop()
            if self.nccl_pair(src):
                buf = torch.empty_like(like, device=self.device, memory_format=torch.contiguous_format)
                dist.recv(buf, src, group=self.nccl)
            else:
                buf = torch.empty_like(like, device="cpu", memory_format=torch.contiguous_format)
                dist.recv(buf, src, tag=t)
            self.arrived[(src, t)] = buf if buf.device == self.device else buf.to(self.device)
            self.kept += t != tag
        return self.arrived.pop((src, tag))

    def const(self, name, value):
        """A value of the reference run (bookkeeping, attributes) on this process's device."""
        if self.device.type == "cpu":
            return value
        if name not in self.consts:
            self.consts[name] = (value.to(self.device) if isinstance(value, torch.Tensor) else
                                 type(value)(v.to(self.device) if isinstance(v, torch.Tensor) else v for v in value)
                                 if isinstance(value, (tuple, list)) else value)
        return self.consts[name]

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def post_receives(lay, me, wire, tag_of=lambda t: t, rank=None):
    """Every receive of one pass on device `me`, posted ahead into buffers of the reference run's
    shapes. Posted before the pass starts, a tensor lands as it arrives; a receive posted only
    when the value is needed makes gloo over loopback wait 2-4 ms in a fraction of the messages
    (4 KiB ping-pong on this machine: p90 1991 us posted late, 39 us posted ahead). A stream
    passes its own tags (`tag_of`: lane and round) and ranks (every lane's devices)."""
    posted = {}
    for (name, dest), tag in lay.tag_of.items():
        if dest == me:
            src = (rank or lay.rank)[lay.where[name]]
            posted[name] = [wire.post(r, src, tag_of(tag + i)) for i, r in enumerate(tensors_of(lay.values[name]))]
    return posted


def send_order(lay, src, dst):
    """The (tag, like) of every message device `src` sends to `dst` in one pass, in its order."""
    out = []
    for node in lay.local[src]:
        for e, tag in lay.sends.get(node.name, []):
            if e == dst:
                out += [(tag + i, r) for i, r in enumerate(tensors_of(lay.values[node.name]))]
    return out


def one_pass(lay, me, example, rec, posted, wire=None):
    """One inference on device `me`, with its receives `posted` (post_receives); the host returns
    the outputs. Appends to `rec` what happened
    when (time.perf_counter, one clock for every process of this machine): ("run", node, t0, t1)
    per node run, ("send", node, dest, t) per message sent, ("recv", node, t0, t1) per message
    received (the wait included)."""
    env, pending = {}, []
    clock = time.perf_counter

    wire = wire or Wire(0, [torch.device("cpu")])

    def send(name, value):
        for e, tag in lay.sends.get(name, []):
            rec.append(("send", name, e, clock()))
            for i, t in enumerate(tensors_of(value)):
                pending.append(wire.isend(t, lay.rank[e], tag + i))

    def fetch(n):
        if lay.where.get(n.name) is None:
            return wire.const(n.name, lay.values[n.name])
        if n.name not in env:
            t0 = clock()
            got = [h.wait() for h in posted.pop(n.name)]
            rec.append(("recv", n.name, t0, clock()))
            env[n.name] = rebuild(lay.values[n.name], got)
        return env[n.name]

    with torch.no_grad():
        for i, node in enumerate(lay.local[me]):
            if node.op == "placeholder":
                env[node.name] = example
            else:
                args = torch.fx.node.map_arg(node.args, fetch)
                kwargs = torch.fx.node.map_arg(node.kwargs, fetch)
                t0 = clock()
                env[node.name] = run_node(lay.gm, node, args, kwargs)
                wire.sync()  # on a GPU: the op's time, not its launch's
                rec.append(("run", node.name, t0, clock()))
            send(node.name, env[node.name])
            for name in lay.free_after[me][i]:
                env.pop(name, None)
        out = torch.fx.node.map_arg(lay.output.args[0], fetch) if me == lay.host else None
    for req, _ in pending:
        req.wait()
    return to_cpu(out)


def stream(sl, me, example, reference, rounds, pace, wire):
    """A stream of rounds * lanes inputs on device `me` (StreamLayout). The host injects input n
    at n * period_us after the start (pace) or as soon as its turn comes, and collects the
    outputs of input round q from the end of its device round q + max delay on, in a collector
    thread. Returns, at the host, per input: (injected, done) times and max_abs_diff against
    the reference."""
    clock = time.perf_counter
    R, D, host = sl.lanes, sl.max_delay, sl.host
    env, posted, pending = {}, {}, []

    def post(q):  # every receive of input round q, ahead (see post_receives)
        for lane, lay in enumerate(sl.lay):
            # A stream's ranks span every lane's devices; its tags carry the lane and round.
            got = post_receives(lay, me, wire, lambda t, lane=lane: sl.tag(lane, t, q), sl.rank)
            posted.update({(q * R + lane, name): works for name, works in got.items()})

    def fetcher(lane, n):
        lay = sl.lay[lane]

        def fetch(node):
            if lay.where.get(node.name) is None:
                return wire.const(node.name, sl.values[node.name])
            k = (n, node.name)
            if k not in env:
                t = clock()
                got = [h.wait() for h in posted.pop(k)]
                spent["wait_us"] += clock() - t
                env[k] = rebuild(sl.values[node.name], got)
            return env[k]

        return fetch

    injected, done, diff = {}, {}, [0.0]
    collect = queue_module.Queue()

    def collector():
        """At the host: waits for each input's outputs in turn, times them and checks them.
        A thread, so that waiting for one input's outputs does not hold up the next round."""
        while True:
            item = collect.get()
            if item is None:
                return
            n, parts = item
            values = {}
            for name, v in parts.items():
                if isinstance(v, list) and v and hasattr(v[0], "wait"):
                    v = rebuild(sl.values[name], [h.wait() for h in v])
                values[name] = v
            out = to_cpu(torch.fx.node.map_arg(sl.output.args[0], lambda a: values[a.name]))
            done[n] = clock()
            diff[0] = max(diff[0], max_abs_diff(out, reference))

    thread = threading.Thread(target=collector, daemon=True)
    if me == host:
        thread.start()
    spent = {"compute_us": 0.0, "wait_us": 0.0, "send_wait_us": 0.0, "pace_us": 0.0, "post_us": 0.0, "send_us": 0.0, "total_us": 0.0}
    post(0)
    dist.barrier()
    t0 = clock()
    with torch.no_grad():
        for r in range(rounds + D):
            if r + 1 < rounds:
                t = clock()
                post(r + 1)
                spent["post_us"] += clock() - t
            for key, lane, node, d in sl.tasks[me]:
                q = r - d
                if not 0 <= q < rounds:
                    continue
                n, lay = q * R + lane, sl.lay[lane]
                if node.op == "placeholder":
                    if pace:
                        wait = t0 + n * sl.period_us * 1e-6 - clock()
                        if wait > 0:
                            time.sleep(wait)
                            spent["pace_us"] += wait
                    injected[n] = clock()
                    value = example
                else:
                    fetch = fetcher(lane, n)
                    args_, kwargs_ = torch.fx.node.map_arg(node.args, fetch), torch.fx.node.map_arg(node.kwargs, fetch)
                    t = clock()
                    value = run_node(sl.gm, node, args_, kwargs_)
                    wire.sync()
                    spent["compute_us"] += clock() - t
                env[(n, node.name)] = value
                t_send = clock()
                for e, tag in lay.sends.get(node.name, []):
                    for i, t in enumerate(tensors_of(value)):
                        pending.append((r, *wire.isend(t, sl.rank[e], sl.tag(lane, tag + i, q))))
                spent["send_us"] += clock() - t_send
                for name in sl.frees.get((me, lane, (d, key)), []):
                    env.pop((n, name), None)
            q = r - D
            if me == host and 0 <= q < rounds:
                # The outputs of input round q: local values now, remote ones handed to the
                # collector, which waits for them beside this loop.
                for lane in range(R):
                    n, lay, parts = q * R + lane, sl.lay[lane], {}
                    for a in sl.output.all_input_nodes:
                        where = lay.where.get(a.name)
                        if where is None:
                            parts[a.name] = sl.values[a.name]
                        elif (n, a.name) in env:
                            parts[a.name] = env.pop((n, a.name))
                        else:
                            parts[a.name] = posted.pop((n, a.name))
                    collect.put((n, parts))
            # A send's tensor lives until the send is done; the sends of earlier rounds are.
            still, t = [], clock()
            for item in pending:
                if item[0] < r:
                    item[1].wait()
                else:
                    still.append(item)
            spent["send_wait_us"] += clock() - t
            pending = still
    for _, w, _ in pending:
        w.wait()
    if me == host:
        collect.put(None)
        thread.join()
    spent["total_us"] = clock() - t0
    spent = {k: round(v * 1e6, 1) for k, v in spent.items()}
    spent["other_us"] = round(spent["total_us"] - sum(v for k, v in spent.items() if k != "total_us"), 1)
    return {n: (injected[n], done[n]) for n in done}, diff[0], spent


def start_process(rank, world, meet, devices, args, cores, with_nccl):
    """Pins this device process (to the core of its rank, round robin over the node's cores),
    joins the process group (gloo) and, where two or more GPU processes of one node run, their
    NCCL group. Returns (the NCCL group or None, the ranks in it)."""
    if cores:
        os.sched_setaffinity(0, {cores[rank % len(cores)]})
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", **rendezvous(rank, world, meet, args.timeout))
    device = devices[rank]
    if device.type == "cuda":
        torch.cuda.set_device(device)
        # Full fp32 for the comparison with the CPU reference (TF32 would round to 10 bits).
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    nccl, members = None, set()
    if with_nccl:
        node_of = args.node_of_rank
        for node in sorted(set(node_of)):  # one group per node; every rank takes part in making each
            gpus = [r for r, d in enumerate(devices) if d.type == "cuda" and node_of[r] == node]
            if len(gpus) >= 2:
                group = dist.new_group(ranks=gpus, backend="nccl")
                if rank in gpus:
                    nccl, members = group, set(gpus)
    return nccl, members


def stream_worker(rank, world, meet, sl, example, reference, args, cores, queue):
    try:
        devices = [torch.device(x) for x in args.rank_devices]
        start_process(rank, world, meet, devices, args, cores, with_nccl=False)
        wire = Wire(rank, devices)
        if devices[rank].type != "cpu":
            sl.gm.to(devices[rank])
        times, diff, spent = stream(sl, sl.devices[rank], example.to(devices[rank]), reference, args.rounds,
                                    not args.no_pace, wire)
        dist.barrier()
        queue.put({"rank": rank, "spent": spent, **({"times": times, "max_abs_diff": diff} if rank == 0 else {})})
        dist.destroy_process_group()
    except Exception as e:  # reported by the parent, which ends every process
        queue.put({"error": f"device '{sl.devices[rank]}' (rank {rank}): {type(e).__name__}: {e}",
                   "trace": traceback.format_exc()})
        raise SystemExit(1)


def max_abs_diff(a, b):
    ta, tb = tensors_of(a), tensors_of(b)
    if len(ta) != len(tb):
        return float("inf")
    return max((float((x - y).abs().max()) for x, y in zip(ta, tb)), default=0.0)


def worker(rank, world, meet, lay, example, reference, args, cores, queue):
    try:
        devices = [torch.device(x) for x in args.rank_devices]
        nccl = start_process(rank, world, meet, devices, args, cores, with_nccl=args.transport == "auto")
        ordered = range(world) if args.transport == "ordered" else ()
        me = lay.devices[rank]
        order = {r: send_order(lay, d, me) for r, d in enumerate(lay.devices) if d != me}
        if devices[rank].type != "cpu":
            lay.gm.to(devices[rank])
        example = example.to(devices[rank])
        times, diff, records, probes = [], 0.0, [], []
        wire = Wire(rank, devices, nccl, ordered)
        for it in range(args.warmup + args.runs):
            if it in (args.warmup, args.warmup + args.runs - 1):  # before the first timed run and the last
                for r in range(world):  # one process at a time, as calibrate.py timed it: the others idle
                    dist.barrier()
                    if r == rank:
                        probes.append(probe_us(devices[rank]))
                dist.barrier()
            wire.begin(order)  # a pass's messages, in their senders' order
            posted = post_receives(lay, me, wire)
            dist.barrier()
            rec = []
            t0 = time.perf_counter()
            out = one_pass(lay, me, example, rec, posted, wire)
            t1 = time.perf_counter()
            if it >= args.warmup:
                records.append((t0, t1, rec))
            if rank == 0:
                diff = max(diff, max_abs_diff(out, reference))
                if it >= args.warmup:
                    times.append((t1 - t0) * 1e6)
        dist.barrier()
        queue.put({"rank": rank, "records": records, "kept": wire.kept, "probe_us": probes,
                   **({"max_abs_diff": diff, "times_us": times} if rank == 0 else {})})
        dist.destroy_process_group()
    except Exception as e:  # reported by the parent, which ends every process
        queue.put({"error": f"device '{lay.devices[rank]}' (rank {rank}): {type(e).__name__}: {e}",
                   "trace": traceback.format_exc()})
        raise SystemExit(1)


def rendezvous(rank, world, meet, timeout_s):
    """How the device processes meet. Across nodes: through the run's store (nodes.Cluster),
    gloo's sockets bound to --listen's interface. On one machine, listening on nothing beyond
    loopback: a file store in a private folder of the parent's (no socket at all; the TCP store of
    env:// rendezvous listens on every interface in torch 1.13), gloo's sockets on loopback."""
    if isinstance(meet, nodes.Cluster):
        return meet.rendezvous(rank, world, timeout_s)
    store_path = meet
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    return {"store": dist.FileStore(store_path, world), "rank": rank, "world_size": world,
            "timeout": timedelta(seconds=timeout_s)}


def store_folder():
    """A private folder for one run's rendezvous file (removed when the run ends)."""
    return tempfile.mkdtemp(prefix="diviml-rendezvous-")


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


def run_processes(target, world, payload, example, reference, args, cluster=None):
    """Forks one process per device (rank 0: the host; across nodes, the devices of this node's
    server) running target(rank, world, meet, payload, ...), and gathers one result per rank. A
    process that reports an error or dies, or a run past --timeout, ends every process and raises
    PlanError (across nodes: NodeLost, and every other node ends with the same line). Across
    nodes, the host's node returns every rank's result; the others return None."""
    cores = sorted(os.sched_getaffinity(0))
    ctx = torch.multiprocessing.get_context("fork")
    queue = ctx.Queue()
    folder = store_folder() if cluster is None else None
    meet = os.path.join(folder, "store") if cluster is None else cluster  # each worker's `meet` argument
    ranks = range(world) if cluster is None else cluster.local_ranks
    procs = [ctx.Process(target=target, args=(r, world, meet, payload, example, reference, args, cores, queue))
             for r in ranks]
    for p in procs:
        p.start()
    results, deadline = {}, time.monotonic() + args.timeout
    try:
        while len(results) < len(procs):
            try:
                got = queue.get(timeout=0.2)
            except Exception:
                got = None
            failed = None
            if got is not None:
                if "error" in got:
                    failed = got["error"]
                else:
                    results[got["rank"]] = got
                    continue
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead and failed is None:
                failed = f"a device process died (exit status {dead[0].exitcode})"
            if failed is not None:
                if cluster is None:
                    raise PlanError(failed)
                cluster.lost_locally(f"{cluster.name(cluster.node)}: {failed}")
            if cluster is not None:
                cluster.check()
            elif time.monotonic() > deadline:
                raise PlanError(f"the run did not finish within --timeout {args.timeout} s")
        for p in procs:
            p.join(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    if cluster is None:
        return results
    # Across nodes: each node hands its ranks' results (JSON) to the host's node.
    if cluster.node != cluster.report_node:
        for r, got in results.items():
            cluster.put(r, got)
        return None
    results.update(cluster.gather([r for r in range(world) if r not in results]))
    return results


def cuda_devices_here():
    """CUDA devices on this machine, counted in a child process: the device processes are forked
    from this one, which must not have initialised CUDA."""
    try:
        p = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.device_count())"],
                           capture_output=True, text=True, timeout=120)
        return int(p.stdout.strip() or 0) if p.returncode == 0 else 0
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0


def torch_devices(used, platform, all_cpu, cluster=None):
    """The torch device of each rank's process: "cpu" for a CPU device; for a GPU device of the
    platform, cuda:i with i its index among the platform's GPU devices (in file order; across
    nodes, among its server's), or "cpu" with --all-cpu."""
    kind = {d.get("name"): d.get("kind", "cpu") for d in platform.get("devices", [])}
    server = {d.get("name"): d.get("server", "node0") for d in platform.get("devices", [])}
    gpus = [d.get("name") for d in platform.get("devices", []) if d.get("kind", "cpu") != "cpu"]
    if cluster is not None:  # cuda:i of its node
        gpus = {g: [h for h in gpus if server[h] == server[g]] for g in gpus}
        index = {g: gpus[g].index(g) for g in gpus}
    else:
        index = {g: i for i, g in enumerate(gpus)}
    if kind.get(platform.get("host"), "cpu") != "cpu" and not all_cpu:
        raise PlanError(f"platform: the host '{platform.get('host')}' is a '{kind[platform.get('host')]}'; the "
                        "executor's host is a CPU process (--all-cpu runs every device as one)")
    wanted = [d for d in used if kind.get(d, "cpu") != "cpu"]
    if not wanted or all_cpu:
        return ["cpu"] * len(used)
    here = [d for r, d in enumerate(used) if d in wanted and (cluster is None or r in cluster.local_ranks)]
    have = cuda_devices_here() if here else 0
    for d in here:
        if index[d] >= have:
            raise PlanError(f"platform: device '{d}' is a '{kind[d]}' and runs on CUDA device {index[d]}; this "
                            f"machine has {have} CUDA device(s) (--all-cpu runs every device as a CPU process)")
    return [f"cuda:{index[d]}" if d in wanted else "cpu" for d in used]


def join_nodes(args, graph, platform, plan, model, devices):
    """Across servers (--nnodes, or under torchrun): this node's nodes.Cluster, after meeting every
    other node and comparing their jobs; None for a run of every server on this machine."""
    launch = nodes.launch_of(args)
    args.node_of_rank = [0] * len(devices)
    if launch is None:
        return None
    cluster = nodes.Cluster(launch, platform, devices, args)
    try:
        args.node_of_rank = cluster.node_of_rank
        cluster.join({"graph": nodes.digest_of(graph), "platform": nodes.digest_of(platform),
                      "plan": nodes.digest_of(plan), "model": nodes.model_digest(model)})
    except BaseException:
        cluster.close()
        raise
    return cluster


def output_check(diff, reference, devices):
    """On CPU processes only, the outputs must be the reference's bit for bit; where a GPU
    computes, within 1e-3 of the largest reference output magnitude (fp32, TF32 off)."""
    if all(d == "cpu" for d in devices):
        return {"tolerance_abs": 0.0, "outputs_match": diff == 0.0}
    scale = max((float(t.abs().max()) for t in tensors_of(reference)), default=1.0)
    tol = 1e-3 * max(scale, 1e-6)
    return {"tolerance_abs": tol, "outputs_match": diff <= tol}


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


NOISY_SPREAD = 0.10  # the error target a prediction is judged at (docs/results.md, fidelity)


def spread_of(times):
    """The runs' spread: p10 and p90, (p90 - p10) / median, and whether it is too wide to judge a
    prediction at the 10% its error is held to (then the report says so: `noisy`; a device whose
    speed moved by more than that since calibration, `drifted`, makes it noisy too)."""
    q = statistics.quantiles(times, n=10, method="inclusive") if len(times) > 1 else [times[0]] * 9
    spread = (q[8] - q[0]) / statistics.median(times)
    return {"measured_p10_us": q[0], "measured_p90_us": q[8], "spread": round(spread, 4),
            "noisy": spread > NOISY_SPREAD}


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


def breakdown(lay, results, platform):
    """Per device, medians over the runs: the plan's busy time, and the measured time spent
    running ops (compute_us), waiting in receives (wait_us), and the rest of the pass (Python
    dispatch, posting sends, freeing values: other_us). Where calibrate.py measured the device,
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
        "format": "diviml.plan/1", "solver": f"measured: {plan.get('solver', '?')} plan run by execute_plan.py",
        "status": "heuristic", "objective": "latency", "makespan_us": round(span_us, 3), "lower_bound_us": 0.0,
        "gap": None, "predicted_makespan_us": float(plan.get("makespan_us", 0.0)),
        "placements": [{"node": n, "device": d, "start_us": round(s, 3), "end_us": round(e, 3)}
                       for n, (d, s, e) in sorted(placements.items(), key=lambda kv: kv[1][1])],
        "transfers": transfers,
    }


def main(argv=None):
    ap = tool_errors.ArgumentParser(prog="execute_plan", description=__doc__.split("\n\n")[0])
    add_model_arguments(ap)
    ap.add_argument("--input-shape", help="comma-separated input shape (as given to export_fx.py)")
    ap.add_argument("-g", "--graph", required=True, help="the graph file export_fx.py wrote for the model")
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
        raise SystemExit("execute_plan: error: --runs and --threads must be at least 1, --warmup at least 0, "
                         "--timeout positive")
    try:
        report, timeline = execute(args)
    except (PlanError, nodes.NodeError) as e:
        print(f"execute_plan: error: {e}", file=sys.stderr)
        return 2
    except nodes.NodeLost as e:
        print(f"execute_plan: error: {e}", file=sys.stderr)
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
                      "calibrate.py measured it, so the prediction cannot be judged; calibrate again, or run when it "
                      "is quiet")
    for path, doc in ((args.timeline, timeline), (args.report, report)):
        if path:
            with open(path, "w") as f:
                json.dump(doc, f, indent=1)
                f.write("\n")
    if not report["outputs_match"]:
        print(f"execute_plan: error: the outputs differ from the unsplit model's: max_abs_diff "
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


if __name__ == "__main__":
    tool_errors.run(main_as_launched, "execute_plan")
