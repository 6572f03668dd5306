// Exhaustive optimum for tiny instances: every device assignment times every linear
// extension of the DAG, each replayed. Any optimal schedule's per-device orders come from
// some linear extension (sort by start time), and the replay of those orders is no later, so
// the minimum over this set is the true optimum. Memory capacities are honoured.
#pragma once

#include <algorithm>
#include <functional>
#include <vector>

#include "diviml/sched/replay.hpp"

namespace diviml::testing {

// Returns +inf when no assignment is feasible.
inline double brute_force_optimum(const Problem& pr) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  std::vector<std::vector<int>> extensions;
  std::vector<int> indeg(n), cur;
  for (int v = 0; v < n; ++v) indeg[v] = static_cast<int>(g.in_edges(v).size());
  std::vector<char> used(n, 0);
  std::function<void()> extend = [&]() {
    if (static_cast<int>(cur.size()) == n) {
      extensions.push_back(cur);
      return;
    }
    for (int v = 0; v < n; ++v) {
      if (used[v] || indeg[v] != 0) continue;
      used[v] = 1;
      cur.push_back(v);
      for (int e : g.out_edges(v)) --indeg[g.edges[e].dst];
      extend();
      for (int e : g.out_edges(v)) ++indeg[g.edges[e].dst];
      cur.pop_back();
      used[v] = 0;
    }
  };
  extend();
  double best = kInf;
  std::vector<int> dev(n, 0);
  while (true) {
    bool ok = true;
    std::vector<double> mem(k, 0.0);
    for (int v = 0; v < n && ok; ++v) {
      mem[dev[v]] += pr.param_bytes(v);
      ok = pr.can_run(v, dev[v]);
    }
    for (int d = 0; d < k && ok; ++d) ok = mem[d] <= pr.capacity_bytes(d);
    if (ok)
      for (const auto& ext : extensions) {
        auto plan = replay(pr, mapping_from_priority(pr, dev, ext));
        if (plan) best = std::min(best, plan->makespan_us);
      }
    int i = 0;
    while (i < n && ++dev[i] == k) dev[i++] = 0;
    if (i == n) break;
  }
  return best;
}

}  // namespace diviml::testing
