#include "diviml/objective/plan.hpp"

#include <algorithm>
#include <cmath>

namespace diviml {

const char* to_string(PlanStatus s) {
  switch (s) {
    case PlanStatus::kOptimal:
      return "optimal";
    case PlanStatus::kFeasible:
      return "feasible";
    case PlanStatus::kHeuristic:
      return "heuristic";
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
  const double v = value();
  if (v <= 0) return 0.0;
  return std::clamp((v - lower_bound_us) / v, 0.0, 1.0);
}

}  // namespace diviml
