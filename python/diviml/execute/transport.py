"""How tensors move between device processes: torch.distributed point-to-point sends into buffers
of known shape (nothing is unpickled), receives posted ahead, NCCL between GPUs of one node.
"""

import torch
import torch.distributed as dist
import torch.fx

from .layout import tensors_of


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
