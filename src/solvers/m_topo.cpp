#include "diviml/solvers/m_topo.hpp"

#include <algorithm>
#include <cmath>

#include "diviml/objective/replay.hpp"
#include "diviml/solvers/baselines.hpp"

namespace diviml {

Result<SolverOutput> MTopoSolver::run(const Problem& pr, const SolveContext&) const {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  double total = 0;
  for (int v = 0; v < n; ++v) total += pr.resident_bytes(v);
  std::vector<double> share(k), mem(k, 0.0);
  for (int d = 0; d < k; ++d) share[d] = std::min(pr.capacity_bytes(d), total / k);
  const std::vector<int>& topo = g.topo_order();
  std::vector<int> device(n, -1);
  // Reachable: every input comes over a link (or from the same device) and the host input too.
  auto reachable = [&](int v, int d) {
    if (!std::isfinite(pr.input_us(v, d)) || !std::isfinite(pr.output_us(v, d))) return false;
    for (int e : g.in_edges(v))
      if (!std::isfinite(pr.comm_us(e, device[g.edges[e].src], d))) return false;
    return true;
  };
  int current = 0;
  bool stuck = false;
  for (int v : topo) {
    const double r = pr.resident_bytes(v);
    // The device whose share is not yet full moves on once this node would pass it.
    while (current + 1 < k && mem[current] > 0 && mem[current] + r > share[current]) ++current;
    int chosen = -1;
    for (int d = current; d < k && chosen < 0; ++d)
      if (pr.can_run(v, d) && mem[d] + r <= pr.capacity_bytes(d) && reachable(v, d)) chosen = d;
    for (int d = 0; d < current && chosen < 0; ++d)  // earlier devices, if any still has room
      if (pr.can_run(v, d) && mem[d] + r <= pr.capacity_bytes(d) && reachable(v, d)) chosen = d;
    if (chosen < 0) {
      stuck = true;
      break;
    }
    device[v] = chosen;
    mem[chosen] += r;
  }
  SolverOutput out;
  if (stuck) {
    std::optional<std::vector<int>> fit = feasible_assignment(pr, kFeasibleSearchSteps);
    if (!fit) return infeasible("m-topo: no assignment fits memory and links (searched)");
    device = *fit;
    out.notes.push_back("m-topo: the topological walk found no room; list-scheduled an assignment found by search");
  }
  out.mapping = mapping_from_priority(pr, device, topo);
  return out;
}

}  // namespace diviml
