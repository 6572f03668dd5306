// The latency objective: replay, validator and lower bounds of one inference's makespan.
#include <algorithm>

#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/objective.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/objective/validate.hpp"

namespace diviml {

namespace {

class LatencyObjective final : public Objective {
 public:
  std::string name() const override { return "latency"; }
  Result<Plan> evaluate(const Problem& problem, const Mapping& mapping) const override {
    return replay(problem, mapping);
  }
  double value(const Plan& plan) const override { return plan.makespan_us; }
  Status validate(const Problem& problem, const Plan& plan) const override {
    if (Status s = accepts(problem); !s) return s;
    return diviml::validate(problem, plan);
  }
  // The latency replay lets copies overlap compute on every device; a device whose copies
  // occupy it is modelled by the stream replay only.
  Status accepts(const Problem& problem) const override {
    for (const Device& d : problem.platform().devices)
      if (!d.overlap_comm)
        return usage_error("device '" + d.name +
                           "' has overlap_comm: false, which the throughput objective models and the latency "
                           "objective does not (use --objective throughput)");
    return {};
  }
  double quick_bound(const Problem& problem) const override {
    const double path = critical_path_bound_us(problem);
    return std::max(path, ascent_work_bound_us(problem, 1000, path));
  }
  double lower_bound(const Problem& problem, double lp_time_limit_s) const override {
    return lower_bound_us(problem, lp_time_limit_s);
  }
};

}  // namespace

const Objective& latency_objective() {
  static const LatencyObjective latency;
  return latency;
}

const Objective* find_objective(const std::string& name) {
  if (name == "latency") return &latency_objective();
  if (name == "throughput") return &throughput_objective();
  return nullptr;
}

std::vector<std::string> objective_names() { return {"latency", "throughput"}; }

}  // namespace diviml
