#include "diviml/solvers/moves.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "diviml/objective/memory.hpp"
#include "diviml/objective/replay.hpp"

namespace diviml {

Mapping improve_by_moves(const Problem& pr, Mapping m, double time_limit_s) {
  const auto t0 = std::chrono::steady_clock::now();
  auto out_of_time = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > time_limit_s;
  };
  auto plan = replay(pr, m);
  if (!plan) return m;
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  // Moves are kept when they lower (makespan, sum of node ends) lexicographically: the second
  // term lets the search cross plateaus where the makespan does not move yet.
  auto total_end = [](const Plan& p) {
    double t = 0;
    for (const Placement& pl : p.placements) t += pl.end_us;
    return t;
  };
  double best = plan->makespan_us, best_total = total_end(*plan);
  std::vector<double> start(n), end(n), mem(k, 0.0);
  auto take_times = [&](const Plan& p) {
    for (const Placement& pl : p.placements) start[pl.node] = pl.start_us, end[pl.node] = pl.end_us;
  };
  take_times(*plan);
  for (int v = 0; v < n; ++v) mem[m.device[v]] += pr.resident_bytes(v);
  bool limited = false;
  for (int d = 0; d < k; ++d) limited |= std::isfinite(pr.capacity_bytes(d));
  std::vector<double> allowed = limited ? memory_profile(pr, *plan).peak_bytes : std::vector<double>{};
  for (bool improved = true; improved && !out_of_time();) {
    improved = false;
    for (int v : g.topo_order()) {
      if (out_of_time()) break;
      if (pr.group_of(v) >= 0) continue;  // a colocated node moves only with its group
      const int from = m.device[v];
      for (int d = 0; d < k; ++d) {
        if (d == from || !pr.can_run(v, d) || mem[d] + pr.resident_bytes(v) > pr.capacity_bytes(d)) continue;
        double ready = pr.input_us(v, d);
        bool linked = true;
        for (int e : g.in_edges(v)) {
          int u = g.edges[e].src;
          double c = pr.comm_us(e, m.device[u], d);
          linked = linked && std::isfinite(c);
          ready = std::max(ready, end[u] + c);
        }
        if (!linked) continue;
        Mapping t = m;
        auto& src = t.order[from];
        src.erase(std::find(src.begin(), src.end(), v));
        auto& dst = t.order[d];
        auto at = std::find_if(dst.begin(), dst.end(), [&](int w) { return start[w] >= ready; });
        dst.insert(at, v);
        t.device[v] = d;
        auto p = replay(pr, t);
        if (!p) continue;
        const double total = total_end(*p);
        const bool lower = p->makespan_us < best * (1 - 1e-9);
        const bool level = !lower && p->makespan_us <= best * (1 + 1e-12);
        if (!lower && !(level && total < best_total * (1 - 1e-9))) continue;
        // Memory over time: a move may not take a device above its capacity (or above the
        // peak it already had, when the start overflowed).
        if (limited) {
          const std::vector<double> peak = memory_profile(pr, *p).peak_bytes;
          bool fits = true;
          for (int d2 = 0; d2 < k && fits; ++d2) fits = peak[d2] <= std::max(pr.capacity_bytes(d2), allowed[d2]);
          if (!fits) continue;
          allowed = peak;
        }
        best = std::min(best, p->makespan_us);
        best_total = total;
        mem[from] -= pr.resident_bytes(v);
        mem[d] += pr.resident_bytes(v);
        m = std::move(t);
        take_times(*p);
        improved = true;
        break;
      }
    }
  }
  return m;
}

}  // namespace diviml
