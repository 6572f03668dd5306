"""The device processes' loops: one pass of a latency plan (one_pass, worker) and a stream of a
throughput plan (stream, stream_worker).
"""

import queue as queue_module
import threading
import time
import traceback

import torch
import torch.distributed as dist
import torch.fx

from ..profile.ops import probe_us
from .layout import max_abs_diff, rebuild, run_node, tensors_of, to_cpu
from .transport import Wire, post_receives, send_order
from .processes import start_process


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
                for r in range(world):  # one process at a time, as diviml-calibrate timed it: the others idle
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
