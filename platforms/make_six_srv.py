#!/usr/bin/env python3
"""Writes platforms/six-srv.json: six heterogeneous GPU servers (docs/platforms.md, "six-srv").

Every figure is a public datasheet number (cited in docs/platforms.md). Compute peaks are the
dense FP16 tensor-core rates, since the platform is for fp16 LLM inference. Links use about
80% of the raw rate (what a pinned copy or an RDMA write typically reaches), as the other
bundled platforms do.

Links between servers are shared: each server reaches the others through its NICs, and all
its GPUs send through them. A GPU's link to a GPU of another server gets its fair share of
the two NICs on the path: min(sender NIC rate / GPUs sharing it, receiver NIC rate / GPUs
sharing it). That is exact when every GPU of a server sends at once (a full pipeline, a
stream of requests) and pessimistic, by up to the number of GPUs sharing the NIC, for one
transfer alone. The latency plans count how many inter-server transfers overlap in time, so
a reader sees which case a plan is in (bench/gpt3.sh prints it).

Usage: python3 platforms/make_six_srv.py > platforms/six-srv.json
"""
import json

GIB = 1024**3
# name, model, fp16 dense TFLOP/s, HBM/GDDR GB/s, memory GiB, GPUs, intra-server link
# (medium, raw GB/s per direction, latency us), NIC (medium, raw GB/s, NICs in the server).
SERVERS = [
    ("s0", "gpu-h100", "NVIDIA H100 SXM5 80GB", 989.4, 3350, 80, 4,
     ("NVLink 4 through NVSwitch (450 GB/s per direction raw)", 450, 3.0),
     ("ConnectX-7 InfiniBand NDR 400 Gb/s, one per GPU", 50.0, 4)),
    ("s1", "gpu-a100", "NVIDIA A100 SXM4 80GB", 312, 2039, 80, 4,
     ("NVLink 3 through NVSwitch (300 GB/s per direction raw)", 300, 3.0),
     ("ConnectX-6 InfiniBand HDR 200 Gb/s, one per GPU", 25.0, 4)),
    ("s2", "gpu-v100", "NVIDIA Tesla V100 SXM2 32GB", 125, 900, 32, 4,
     ("NVLink 2, two links per GPU pair (50 GB/s per direction raw)", 50, 3.0),
     ("ConnectX-5 InfiniBand EDR 100 Gb/s, one for the server", 12.5, 1)),
    ("s3", "gpu-a10", "NVIDIA A10 24GB PCIe", 125, 600, 24, 4,
     ("PCIe 4.0 x16 peer-to-peer (32 GB/s raw)", 32, 10.0),
     ("100 Gb Ethernet with RoCE, one for the server", 12.5, 1)),
    ("s4", "gpu-l4", "NVIDIA L4 24GB", 121, 300, 24, 8,
     ("PCIe 4.0 x16 peer-to-peer (32 GB/s raw)", 32, 10.0),
     ("100 Gb Ethernet with RoCE, one for the server", 12.5, 1)),
    ("s5", "gpu-t4", "NVIDIA T4 16GB", 65, 320, 16, 4,
     ("PCIe 3.0 x16 peer-to-peer (15.75 GB/s raw)", 15.75, 15.0),
     ("25 Gb Ethernet with RoCE, one for the server", 3.125, 1)),
]
EFFECTIVE = 0.8
NIC_LATENCY_US = {"InfiniBand": 5.0, "Ethernet": 10.0}


def nic_latency(medium):
    return NIC_LATENCY_US["InfiniBand" if "InfiniBand" in medium else "Ethernet"]


def main():
    devices = [{
        "name": "s0.cpu", "kind": "cpu", "model": "2x Intel Xeon Platinum 8480C (112 cores, AVX-512)",
        "peak_gflops": 14336, "mem_bandwidth_gbps": 614, "memory_bytes": 2048 * GIB,
        "launch_overhead_us": 2.0, "server": "s0"}]
    links = []
    gpus = []  # (name, server index)
    for i, (srv, kind, model, tflops, bw, mem, count, intra, nic) in enumerate(SERVERS):
        names = [f"{srv}.gpu{j}" for j in range(count)]
        for n in names:
            devices.append({"name": n, "kind": kind, "model": model, "peak_gflops": tflops * 1000,
                            "mem_bandwidth_gbps": bw, "memory_bytes": mem * GIB, "launch_overhead_us": 5.0,
                            "server": srv})
            gpus.append((n, i))
        for a in range(count):
            for b in range(a + 1, count):
                links.append({"a": names[a], "b": names[b], "latency_us": intra[2],
                              "bandwidth_gbps": round(EFFECTIVE * intra[1], 2), "medium": intra[0]})
    # The host CPU reaches its own GPUs over PCIe 5.0 x16 (64 GB/s raw) and every other GPU over
    # s0's first NIC and that server's NIC share.
    share = [EFFECTIVE * s[8][1] * s[8][2] / s[6] for s in SERVERS]  # GB/s per GPU
    for n, i in gpus:
        if i == 0:
            links.append({"a": "s0.cpu", "b": n, "latency_us": 10.0, "bandwidth_gbps": round(EFFECTIVE * 64, 2),
                          "medium": "PCIe 5.0 x16 (64 GB/s raw)"})
        else:
            links.append({"a": "s0.cpu", "b": n, "latency_us": 10.0 + nic_latency(SERVERS[i][8][0]),
                          "bandwidth_gbps": round(min(EFFECTIVE * SERVERS[0][8][1], share[i]), 3),
                          "medium": f"s0 NIC to {SERVERS[i][0]}'s NIC share"})
    for x in range(len(gpus)):
        for y in range(x + 1, len(gpus)):
            (a, i), (b, j) = gpus[x], gpus[y]
            if i == j:
                continue
            links.append({"a": a, "b": b,
                          "latency_us": max(nic_latency(SERVERS[i][8][0]), nic_latency(SERVERS[j][8][0])),
                          "bandwidth_gbps": round(min(share[i], share[j]), 3),
                          "medium": f"{SERVERS[i][0]}-{SERVERS[j][0]} network, fair share of each server's NICs"})
    doc = {
        "format": "diviml.platform/1",
        "name": "six-srv",
        "description": ("Six heterogeneous GPU servers for fp16 LLM inference: 4x H100 SXM5, 4x A100 SXM4, "
                        "4x V100 SXM2, 4x A10, 8x L4, 4x T4; peaks are dense FP16 tensor rates; links between "
                        "servers are each GPU's fair share of its server's NICs. Generated by "
                        "platforms/make_six_srv.py; figures cited in docs/platforms.md."),
        "host": "s0.cpu",
        "devices": devices,
        "links": links,
    }
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
