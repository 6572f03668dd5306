#include "diviml/solvers/fastest.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "diviml/objective/replay.hpp"  // mapping_from_priority

namespace diviml {

Result<SolverOutput> FastestSolver::run(const Problem& pr, const SolveContext& ctx) const {
  const int n = pr.num_nodes(), k = pr.num_devices();
  double best = kInf;
  int best_dev = -1;
  std::string why;
  // Devices by their compute for the whole model, fastest first: at the deadline the devices
  // replayed so far decide (on 64 devices a stream replay each took longer than a 1 s limit).
  std::vector<std::pair<double, int>> by_work;
  for (int d = 0; d < k; ++d) {
    double work = 0;
    for (int v = 0; v < n; ++v) work += pr.can_run(v, d) ? pr.cost_us(v, d) : kInf;
    by_work.emplace_back(work, d);
  }
  std::stable_sort(by_work.begin(), by_work.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (const auto& [work, d] : by_work) {
    if (best_dev >= 0 && ctx.stopped()) break;
    // One input's latency and the period of a stream on one device are at least its compute:
    // devices from here on cannot beat the best (on 64 devices it replayed every one).
    if (best_dev >= 0 && best <= work) break;
    double mem = 0;
    int bad = -1;
    for (int v = 0; v < n && bad < 0; ++v) {
      mem += pr.resident_bytes(v);
      if (!pr.can_run(v, d)) bad = v;
    }
    const std::string& dev = pr.platform().devices[d].name;
    if (bad >= 0) {
      if (why.empty()) why = "node '" + pr.graph().nodes[bad].id + "' cannot run on '" + dev + "'";
      continue;
    }
    if (mem > pr.capacity_bytes(d)) {
      if (why.empty()) why = "the weights do not fit in '" + dev + "'";
      continue;
    }
    Result<Plan> p =
        ctx.objective->evaluate(pr, mapping_from_priority(pr, std::vector<int>(n, d), pr.graph().topo_order()));
    if (p && !std::isfinite(ctx.score(*p)) && why.empty())
      why = "on '" + dev + "' one input takes " + std::to_string(p->makespan_us) + " us, above --max-latency-us";
    if (p && ctx.score(*p) < best) {
      best = ctx.score(*p);
      best_dev = d;
    }
  }
  if (best_dev < 0) return infeasible("fastest: no single device gives a plan (" + why + ")");
  SolverOutput out;
  out.mapping = mapping_from_priority(pr, std::vector<int>(n, best_dev), pr.graph().topo_order());
  out.notes.push_back("device " + pr.platform().devices[best_dev].name);
  return out;
}

}  // namespace diviml
