#include "diviml/solvers/comm_greedy.hpp"

#include <algorithm>
#include <cmath>

#include "diviml/solvers/partition.hpp"

namespace diviml {

Result<SolverOutput> CommGreedySolver::run(const Problem& pr, const SolveContext& ctx) const {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  const Units units = partition_units(pr);
  const std::vector<double> share = device_shares(pr);
  // The balanced finish: every device busy for the same time (work_d / share_d equal).
  double balanced = 0;
  for (int d = 0; d < k; ++d)
    if (share[d] > 0) {
      double work = 0;
      for (int v = 0; v < n; ++v) work += pr.cost_us(v, d);
      if (std::isfinite(work)) balanced = std::max(balanced, work * share[d]);
    }
  std::vector<double> load(k, 0.0), mem(k, 0.0);
  std::vector<int> device(n, -1), unit_device(units.size(), -1);
  for (int u : units.order) {
    const std::vector<int>& members = units.members[u];
    double bytes = 0;
    for (int v : members) bytes += pr.resident_bytes(v);
    int best = -1;
    double best_score = kInf;
    for (int d = 0; d < k; ++d) {
      if (!unit_runs(pr, units, u, d) || mem[d] + bytes > pr.capacity_bytes(d)) continue;
      double work = 0, comm = 0;
      for (int v : members) {
        work += pr.cost_us(v, d);
        comm += pr.input_us(v, d);
        for (int e : g.in_edges(v)) {
          const int src = g.edges[e].src;
          if (device[src] >= 0 && units.of[src] != u) comm += pr.comm_us(e, device[src], d);
        }
      }
      const double over = std::max(0.0, load[d] + work - 1.05 * balanced * (share[d] > 0 ? 1.0 : 0.0));
      const double score = comm + work + over;
      if (score < best_score) best_score = score, best = d;
    }
    if (best < 0)  // no device has room: the one that runs it with the most room left
      for (int d = 0; d < k; ++d)
        if (unit_runs(pr, units, u, d) &&
            (best < 0 || pr.capacity_bytes(d) - mem[d] > pr.capacity_bytes(best) - mem[best]))
          best = d;
    if (best < 0) best = any_device(pr, units, u);  // host links missing everywhere: decision_for repairs
    unit_device[u] = best;
    for (int v : members) {
      device[v] = best;
      load[best] += pr.cost_us(v, best);
      mem[best] += pr.resident_bytes(v);
    }
  }
  Result<SolverOutput> out = decision_for(pr, ctx, units, device, name());
  if (out)
    out->notes.push_back("comm-greedy: " + std::to_string(units.size()) + " units (" + std::to_string(pr.num_groups()) +
                         " colocation groups)");
  return out;
}

}  // namespace diviml
