"""What each device process runs: the plan's ops per device and their order (Layout), a stream's
lanes and rounds (StreamLayout), and the reference run every output is checked against.
"""

import json

import torch
import torch.fx

from ..models.loading import model_from_args
from ..export.fx import representative


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
    model, _, shape = model_from_args(args, "diviml-execute")
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


def max_abs_diff(a, b):
    ta, tb = tensors_of(a), tensors_of(b)
    if len(ta) != len(tb):
        return float("inf")
    return max((float((x - y).abs().max()) for x, y in zip(ta, tb)), default=0.0)
