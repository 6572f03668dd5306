#include "diviml/solvers/m_etf.hpp"

#include <algorithm>
#include <cmath>

#include "diviml/objective/replay.hpp"
#include "diviml/solvers/baselines.hpp"

namespace diviml {

Result<SolverOutput> MEtfSolver::run(const Problem& pr, const SolveContext& ctx) const {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  const std::vector<int>& topo = g.topo_order();
  std::vector<int> pos(n), device(n, -1), waiting(n), order;
  for (int i = 0; i < n; ++i) pos[topo[i]] = i;
  std::vector<double> end(n, 0.0), free(k, 0.0), mem(k, 0.0);
  std::vector<int> ready;
  for (int v = 0; v < n; ++v)
    if ((waiting[v] = static_cast<int>(g.in_edges(v).size())) == 0) ready.push_back(v);
  // Earliest start of v on d, or +inf where d cannot take it.
  auto start_on = [&](int v, int d) {
    if (!pr.can_run(v, d) || mem[d] + pr.resident_bytes(v) > pr.capacity_bytes(d)) return kInf;
    double t = std::max(free[d], pr.input_us(v, d));
    if (!std::isfinite(pr.output_us(v, d))) return kInf;
    for (int e : g.in_edges(v)) {
      const int u = g.edges[e].src;
      t = std::max(t, end[u] + pr.comm_us(e, device[u], d));
    }
    return t;
  };
  auto place = [&](int v, int d, double t) {
    device[v] = d;
    end[v] = t + pr.cost_us(v, d);
    free[d] = end[v];
    mem[d] += pr.resident_bytes(v);
    order.push_back(v);
    for (int e : g.out_edges(v))
      if (--waiting[g.edges[e].dst] == 0) ready.push_back(g.edges[e].dst);
  };
  SolverOutput out;
  bool stuck = false, late = false;
  while (!ready.empty() && !stuck) {
    if (!late && ctx.stopped()) {
      late = true;
      out.notes.push_back("m-etf: time limit reached; the remaining nodes went in topological order");
    }
    int best_v = -1, best_d = -1, best_i = -1;
    double best = kInf;
    for (size_t i = 0; i < ready.size(); ++i) {
      const int v = ready[i];
      if (late && best_v >= 0 && pos[v] > pos[best_v]) continue;  // topological order only
      for (int d = 0; d < k; ++d) {
        const double t = start_on(v, d);
        if (!std::isfinite(t)) continue;
        const bool earlier = late ? (best_v < 0 || pos[v] < pos[best_v] || (v == best_v && t < best))
                                  : (t < best || (t == best && (pos[v] < pos[best_v] || (v == best_v && d < best_d))));
        if (earlier) best = t, best_v = v, best_d = d, best_i = static_cast<int>(i);
      }
    }
    if (best_v < 0) {
      stuck = true;
      break;
    }
    ready.erase(ready.begin() + best_i);
    place(best_v, best_d, best);
  }
  if (stuck) {
    std::optional<std::vector<int>> fit = feasible_assignment(pr, kFeasibleSearchSteps);
    if (!fit) return infeasible("m-etf: no assignment fits memory and links (searched)");
    out.mapping = mapping_from_priority(pr, *fit, topo);
    out.notes.push_back("m-etf: no ready node fit any device; list-scheduled an assignment found by search");
    return out;
  }
  out.mapping = mapping_from_priority(pr, device, order);
  return out;
}

}  // namespace diviml
