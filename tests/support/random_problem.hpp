// Seeded random problems for property tests: a DAG with random costs and transfer sizes on a
// random platform. Same seed, same problem.
#pragma once

#include <random>
#include <string>

#include "diviml/cost/problem.hpp"

namespace diviml::testing {

struct RandomSpec {
  int nodes = 8;
  int devices = 3;
  double edge_prob = 0.3;
  double forbid_prob = 0.0;  // chance a node cannot run on a non-host device
  bool host_io = true;       // input_bytes on sources, output_bytes on sinks
  bool memory = false;       // give devices a capacity and nodes weights
  // With memory: room for this many times one input's tensors on every limited device (1: they
  // never bind on one inference; below that, or with several inputs in flight, they can).
  double tensor_share = 1.0;
  // Colocation groups: nodes 0 and 2 in one, 1 and 3 in another (where the graph has them).
  bool groups = false;
  // Some device pairs without a link (each pair but the host's first with a chance of 0.35).
  bool sparse_links = false;
  // Devices 1 and 2 identical (cost/symmetry.hpp): device 2 takes device 1's costs, capacity
  // and links (drawn as without it, then copied; needs three devices or more).
  bool twins = false;
  // Device d sits in server "s<d % servers>": copies between servers share each end's NIC
  // (Platform::crosses_servers) in the throughput objective's steady state.
  int servers = 1;
};

inline Problem random_problem(std::uint64_t seed, const RandomSpec& spec = {}) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Platform p;
  p.name = "rand" + std::to_string(seed);
  for (int d = 0; d < spec.devices; ++d) {
    Device dev;
    dev.name = "d" + std::to_string(d);
    dev.kind = d == 0 ? "cpu" : "gpu";
    if (spec.memory) dev.memory_bytes = 100 + 200 * u(rng);
    dev.server = "s" + std::to_string(d % std::max(1, spec.servers));
    p.devices.push_back(dev);
  }
  p.host = 0;
  (void)p.finalize();
  for (int a = 0; a < spec.devices; ++a)
    for (int b = a + 1; b < spec.devices; ++b) {
      const Link link{1 + 5 * u(rng), 0.5 + 2 * u(rng)};
      if (spec.sparse_links && !(a == 0 && b == 1) && u(rng) < 0.35) continue;
      p.set_link(a, b, link);
    }
  Graph g;
  g.name = "rand" + std::to_string(seed);
  for (int i = 0; i < spec.nodes; ++i) {
    Node v;
    v.id = "v" + std::to_string(i);
    v.op = i % 3 == 0 ? "conv" : (i % 3 == 1 ? "relu" : "add");
    for (int d = 0; d < spec.devices; ++d) {
      if (d != 0 && u(rng) < spec.forbid_prob) {
        v.cost_us[p.devices[d].name] = std::nullopt;
      } else {
        v.cost_us[p.devices[d].name] = std::round(1 + 30 * u(rng));
      }
    }
    v.output_bytes = std::round(1000 * u(rng) * u(rng) * 10);
    if (spec.memory) v.param_bytes = std::round(60 * u(rng));
    if (spec.groups && i < 4) v.colocate = i % 2 == 0 ? "a" : "b";
    g.add_node(v);
  }
  for (int i = 0; i < spec.nodes; ++i)
    for (int j = i + 1; j < spec.nodes; ++j)
      if (u(rng) < spec.edge_prob) g.edges.push_back(Edge{i, j, std::round(20000 * u(rng) * u(rng))});
  (void)g.finalize();
  if (spec.host_io) {
    for (int i = 0; i < spec.nodes; ++i)
      if (g.is_source(i)) g.nodes[i].input_bytes = std::round(5000 * u(rng));
  }
  // Memory limits are about weights here: each limited device also gets room for every tensor
  // of the graph at once (T bytes), so live tensors can never overflow it (tricky_problem makes
  // them bind). Weights and their limits are scaled by K = 1 + T / 50, so that this room is
  // at most 50 of the unscaled units and the weights still bind as they did.
  if (spec.memory) {
    double tensors = 0;
    for (const Node& v : g.nodes) tensors += v.output_bytes.value_or(0.0) + v.input_bytes + v.workspace_bytes;
    for (const Edge& e : g.edges) tensors += e.bytes;
    const double scale = 1 + tensors / 50;
    for (Node& v : g.nodes) v.param_bytes *= scale;
    for (Device& dev : p.devices) *dev.memory_bytes = *dev.memory_bytes * scale + spec.tensor_share * tensors;
  }
  if (spec.twins && spec.devices >= 3) {
    const std::string one = p.devices[1].name, two = p.devices[2].name;
    for (Node& v : g.nodes) v.cost_us[two] = v.cost_us[one];
    p.devices[2].memory_bytes = p.devices[1].memory_bytes;
    for (int c = 0; c < spec.devices; ++c) {
      if (c == 1 || c == 2) continue;
      if (const std::optional<Link> link = p.link(c, 1)) p.set_link(c, 2, *link);
    }
  }
  auto pr = Problem::build(std::move(g), std::move(p));
  return std::move(*pr);
}

}  // namespace diviml::testing
