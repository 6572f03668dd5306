"""How much a throughput plan asks of each device's links to other servers (issue 43).

This prints, per device, the time its transfers to (and from) other servers take per round of
the plan (lanes x period), over the round: above 1, the device's share of a NIC, taken as one
resource, could not carry them at the plan's period. Plans made with the platform's
`"server_links": "shared"` (the default, docs/cost-model.md) are at most 1 by construction; it
was written to measure plans of the model before that rule (or of `"dedicated"`), where every
pair of devices on different servers had a link of its own.

    python3 bench/nic_load.py PLAN.json PLATFORM.json [--top N]
"""
import argparse
import collections
import json
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("plan")
    ap.add_argument("platform")
    ap.add_argument("--top", type=int, default=6, help="devices listed per direction (default 6)")
    a = ap.parse_args()
    with open(a.plan) as f:
        plan = json.load(f)
    with open(a.platform) as f:
        platform = json.load(f)
    names = [d["name"] for d in platform["devices"]]
    server = {d["name"]: d.get("server", d["name"]) for d in platform["devices"]}

    def name(x):
        return x if isinstance(x, str) else names[x]

    if plan.get("objective") != "throughput":
        print(f"{a.plan}: not a throughput plan", file=sys.stderr)
        return 2
    round_us = plan["lanes"] * plan["period_us"]
    send, receive = collections.defaultdict(float), collections.defaultdict(float)
    for t in plan.get("transfers", []) + plan.get("host_transfers", []):
        src, dst = name(t["from"]), name(t["to"])
        if server[src] != server[dst]:
            send[src] += t["end_us"] - t["start_us"]
            receive[dst] += t["end_us"] - t["start_us"]
    print(f"period {plan['period_us']:.2f} us, {plan['lanes']} lane(s), round {round_us:.1f} us, "
          f"{len(plan.get('transfers', []))} copies")
    for label, load in (("sends to other servers", send), ("receives from other servers", receive)):
        top = sorted(load.items(), key=lambda kv: -kv[1])[:a.top]
        print(f"{label} (time per round / round): " + ", ".join(f"{d} {x / round_us:.2f}" for d, x in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
