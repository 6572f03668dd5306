"""Starting the device processes: one per device, pinned to a core, joined in one process group
(a private file store on one machine; the run's store across nodes).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.fx

from . import nodes
from .layout import PlanError


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
