#include "diviml/sched/plan.hpp"

#include <algorithm>
#include <cmath>

namespace diviml {

const char* to_string(PlanStatus s) {
  switch (s) {
    case PlanStatus::kOptimal: return "optimal";
    case PlanStatus::kFeasible: return "feasible";
    case PlanStatus::kHeuristic: return "heuristic";
  }
  return "heuristic";
}

Result<PlanStatus> plan_status_from_string(const std::string& s) {
  if (s == "optimal") return PlanStatus::kOptimal;
  if (s == "feasible") return PlanStatus::kFeasible;
  if (s == "heuristic") return PlanStatus::kHeuristic;
  return fail("unknown plan status '" + s + "' (expected optimal, feasible or heuristic)");
}

double Plan::gap() const {
  if (makespan_us <= 0) return 0.0;
  return std::clamp((makespan_us - lower_bound_us) / makespan_us, 0.0, 1.0);
}

Mapping Plan::mapping(int num_devices) const {
  Mapping m;
  m.device.assign(placements.size(), -1);
  m.order.assign(num_devices, {});
  std::vector<const Placement*> sorted;
  for (const Placement& p : placements) {
    if (p.node < 0 || p.node >= static_cast<int>(placements.size())) continue;
    m.device[p.node] = p.device;
    if (p.device >= 0 && p.device < num_devices) sorted.push_back(&p);
  }
  std::stable_sort(sorted.begin(), sorted.end(), [](const Placement* a, const Placement* b) {
    if (a->start_us != b->start_us) return a->start_us < b->start_us;
    if (a->end_us != b->end_us) return a->end_us < b->end_us;  // zero-length ops first
    return a->node < b->node;
  });
  for (const Placement* p : sorted) m.order[p->device].push_back(p->node);
  return m;
}

}  // namespace diviml
