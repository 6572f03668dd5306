// Seeded tiny instances with every awkward feature the core must survive: zero costs, ops a
// device cannot run (null), zero-byte and huge edges, host input and output bytes, memory
// limits (weights and tensors) and missing links. Same seed, same instance. Small enough for the Oracle.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "diviml/cost/problem.hpp"

namespace diviml::testing {

// The features of the second wave that an instance may carry besides the first's (drawn from a
// second random stream, so that without them the instance is the first wave's).
struct TrickyFeatures {
  bool groups = false;       // colocation groups of 2-3 nodes (a device runs each whole)
  bool host_inputs = false;  // input_bytes on most nodes (weights read from the host)
  bool idle_device = false;  // a device with overlap_comm false that runs nothing
};

// nullopt when the drawn instance is rejected by Problem::build (a node that can run nowhere).
// With `wave2`, the features above are drawn too (groups on half the instances, host inputs on
// 20%, an idle device on 15%) and reported in `features`.
inline std::optional<Problem> tricky_problem(std::uint64_t seed, int max_nodes = 7, int max_devices = 3,
                                             bool wave2 = false, TrickyFeatures* features = nullptr) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + 1);
  std::mt19937_64 rng2(seed * 0xC2B2AE3D27D4EB4FULL + 7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  auto u2 = [&] { return u(rng2); };
  TrickyFeatures f;
  if (wave2) {
    f.groups = u2() < 0.5;
    f.host_inputs = u2() < 0.2;
    f.idle_device = u2() < 0.15;
  }
  if (features) *features = f;
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(u(rng) * (hi - lo + 1) - 1e-12); };
  const int n = pick(1, max_nodes), k = pick(1, max_devices);
  const bool memory = u(rng) < 0.25, sparse_links = u(rng) < 0.25, host_io = u(rng) < 0.6;
  const bool zero_heavy = u(rng) < 0.3;
  Platform p;
  p.name = "tricky" + std::to_string(seed);
  for (int d = 0; d < k; ++d) {
    Device dev;
    dev.name = "d" + std::to_string(d);
    dev.kind = d == 0 ? "cpu" : "gpu";
    if (memory && (d > 0 || u(rng) < 0.5)) dev.memory_bytes = std::round(40 + 120 * u(rng));
    p.devices.push_back(dev);
  }
  if (f.idle_device) {
    Device idle;
    idle.name = "idle";
    idle.kind = "cpu";
    idle.overlap_comm = false;
    p.devices.push_back(idle);
  }
  p.host = 0;
  (void)p.finalize();
  if (f.idle_device) p.set_link(0, k, Link{1, 1});
  if (!sparse_links) p.set_default_link(Link{std::round(10 * u(rng)), 0.5 + 3 * u(rng)});
  for (int a = 0; a < k; ++a)
    for (int b = a + 1; b < k; ++b) {
      if (sparse_links && u(rng) < 0.4) continue;  // this pair cannot communicate
      const bool directed = u(rng) < 0.15;
      p.set_link(a, b, Link{u(rng) < 0.3 ? 0.0 : std::round(1 + 6 * u(rng)), 0.5 + 2 * u(rng)}, directed);
    }
  Graph g;
  g.name = p.name;
  for (int i = 0; i < n; ++i) {
    Node v;
    v.id = "v" + std::to_string(i);
    v.op = "op";
    for (int d = 0; d < k; ++d) {
      const double r = u(rng);
      if (r < (zero_heavy ? 0.4 : 0.1)) {
        v.cost_us[p.devices[d].name] = 0.0;
      } else if (r < (zero_heavy ? 0.5 : 0.22)) {
        v.cost_us[p.devices[d].name] = std::nullopt;
      } else {
        v.cost_us[p.devices[d].name] = u(rng) < 0.5 ? std::round(1 + 30 * u(rng)) : 0.25 + 30 * u(rng);
      }
    }
    if (std::all_of(v.cost_us.begin(), v.cost_us.end(), [](const auto& c) { return !c.second; }))
      v.cost_us[p.devices[pick(0, k - 1)].name] = std::round(1 + 30 * u(rng));  // runs somewhere
    v.output_bytes = u(rng) < 0.3 ? 0.0 : std::round(3000 * u(rng));
    if (memory) v.param_bytes = std::round(50 * u(rng));
    g.add_node(v);
  }
  const double edge_prob = 0.15 + 0.5 * u(rng);
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (u(rng) < edge_prob) {
        const double r = u(rng);
        const double bytes = r < 0.25 ? 0.0 : r < 0.35 ? 1e9 : std::round(20000 * u(rng) * u(rng));
        g.edges.push_back(Edge{i, j, bytes});
      }
  if (!g.finalize()) return std::nullopt;
  if (host_io)
    for (int i = 0; i < n; ++i)
      if (g.is_source(i) && u(rng) < 0.7) g.nodes[i].input_bytes = u(rng) < 0.1 ? 1e9 : std::round(5000 * u(rng));
  // Memory limits hold tensors too (memory over time): a limited device gets room for a random
  // share, up to 1.5 times, of the largest working set of one node (output, inputs read, model
  // input), so some instances are tight, some infeasible. Drawn last: the rest is unchanged.
  if (memory) {
    double working = 0;
    for (int v = 0; v < n; ++v) {
      double w = g.nodes[v].input_bytes + g.nodes[v].output_bytes.value_or(0.0);
      for (int e : g.in_edges(v)) w += g.edges[e].bytes;
      for (int e : g.out_edges(v)) w = std::max(w, g.edges[e].bytes);
      working = std::max(working, w);
    }
    for (Device& dev : p.devices)
      if (dev.memory_bytes) *dev.memory_bytes += std::round(1.5 * working * u(rng));
  }
  if (f.idle_device)
    for (Node& v : g.nodes) v.cost_us["idle"] = std::nullopt;
  if (f.host_inputs)
    for (Node& v : g.nodes)
      if (u2() < 0.8) v.input_bytes = std::round(200 + 3000 * u2());
  if (f.groups && n >= 2) {
    // One or two groups of 2-3 distinct nodes, each runnable whole on a device of its own.
    std::vector<int> free(n);
    for (int v = 0; v < n; ++v) free[v] = v;
    const int groups = n >= 4 && u2() < 0.5 ? 2 : 1;
    for (int c = 0; c < groups && free.size() >= 2; ++c) {
      const int size = std::min<int>(static_cast<int>(free.size()), u2() < 0.5 ? 2 : 3);
      const std::string device = p.devices[std::min(k - 1, static_cast<int>(u2() * k))].name;
      for (int i = 0; i < size; ++i) {
        const size_t j = std::min(free.size() - 1, static_cast<size_t>(u2() * static_cast<double>(free.size())));
        Node& v = g.nodes[free[j]];
        free.erase(free.begin() + static_cast<long>(j));
        v.colocate = "g" + std::to_string(c);
        if (!v.cost_us[device]) v.cost_us[device] = std::round(1 + 30 * u2());
      }
    }
  }
  auto pr = Problem::build(std::move(g), std::move(p));
  if (!pr) return std::nullopt;
  return std::move(*pr);
}

}  // namespace diviml::testing
