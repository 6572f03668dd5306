#include "copies.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "diviml/cost/problem.hpp"

namespace diviml::report {

std::vector<Copy> plan_copies(const Problem& pr, const Plan& plan) {
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  const bool stream = plan.objective == "throughput";
  std::map<std::pair<int, int>, int> device_of;  // (lane, node) -> device
  for (const Placement& p : plan.placements) device_of[{stream ? p.lane : 0, p.node}] = p.device;
  std::vector<Copy> copies;
  for (const Transfer& t : plan.transfers) {
    const Edge& e = g.edges[t.edge];
    Copy c;
    c.from = t.from;
    c.to = t.to;
    c.start = t.start_us;
    c.end = t.end_us;
    c.bytes = e.bytes;
    c.name = g.nodes[e.src].id + " -> " + pf.devices[t.to].name;
    c.role = "tensor of";
    c.node = c.producer = e.src;
    c.lane = stream ? t.lane : 0;
    for (int oe : g.out_edges(e.src)) {
      auto it = device_of.find({c.lane, g.edges[oe].dst});
      if (it != device_of.end() && it->second == t.to) c.readers.push_back(g.edges[oe].dst);
    }
    copies.push_back(std::move(c));
  }
  for (const HostTransfer& h : plan.host_transfers) {
    Copy c;
    c.from = h.from;
    c.to = h.to;
    c.start = h.start_us;
    c.end = h.end_us;
    c.bytes = h.bytes;
    c.role = h.to_host ? "output of" : "input of";
    c.name = c.role + " " + g.nodes[h.node].id;
    c.node = h.node;
    c.lane = stream ? h.lane : 0;
    if (h.to_host)
      c.producer = h.node;
    else
      c.readers.push_back(h.node);
    copies.push_back(std::move(c));
  }
  std::sort(copies.begin(), copies.end(),
            [](const Copy& a, const Copy& b) { return std::tie(a.start, a.end) < std::tie(b.start, b.end); });
  return copies;
}

}  // namespace diviml::report
