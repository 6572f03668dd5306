// Exhaustive optimum for tiny instances: every device assignment that fits memory, times every
// combination of per-device orders that respects precedence, each replayed. Any optimal
// schedule's per-device orders are among them, and the replay of those orders is no later, so
// the minimum over this set is the true optimum.
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
  // ancestor[i][j]: j must precede i.
  std::vector<std::vector<char>> before(n, std::vector<char>(n, 0));
  for (int v : g.topo_order())
    for (int e : g.in_edges(v)) {
      int u = g.edges[e].src;
      before[v][u] = 1;
      for (int w = 0; w < n; ++w)
        if (before[u][w]) before[v][w] = 1;
    }
  double best = kInf;
  std::vector<int> dev(n, 0);
  Mapping m;
  m.device.assign(n, 0);
  std::function<void(int)> orders = [&](int d) {
    if (d == k) {
      auto plan = replay(pr, m);
      if (plan) best = std::min(best, plan->makespan_us);
      return;
    }
    std::vector<int>& o = m.order[d];
    std::sort(o.begin(), o.end());
    do {
      bool ok = true;
      for (size_t a = 0; a < o.size() && ok; ++a)
        for (size_t b = a + 1; b < o.size() && ok; ++b) ok = !before[o[a]][o[b]];
      if (ok) orders(d + 1);
    } while (std::next_permutation(o.begin(), o.end()));
  };
  while (true) {
    bool ok = true;
    std::vector<double> mem(k, 0.0);
    for (int v = 0; v < n && ok; ++v) {
      mem[dev[v]] += pr.param_bytes(v);
      ok = pr.can_run(v, dev[v]);
    }
    for (int d = 0; d < k && ok; ++d) ok = mem[d] <= pr.capacity_bytes(d);
    if (ok) {
      m.device = dev;
      m.order.assign(k, {});
      for (int v = 0; v < n; ++v) m.order[dev[v]].push_back(v);
      orders(0);
    }
    int i = 0;
    while (i < n && ++dev[i] == k) dev[i++] = 0;
    if (i == n) break;
  }
  return best;
}

}  // namespace diviml::testing
