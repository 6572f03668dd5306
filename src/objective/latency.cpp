// The latency objective: replay, validator and lower bounds of one inference's makespan.
#include <algorithm>

#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/memory.hpp"
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
  // Every platform: where a device's copies occupy it (overlap_comm false), the replay
  // schedules them on it (replay.hpp).
  Status accepts(const Problem&) const override { return {}; }
  // The exact searches (milp, bnb, split's pinned solves) let copies overlap; where a device's
  // copies occupy it and it runs something, a value they prove is a replayed schedule, not a
  // bound, so only the static bounds (critical path, work), which stay valid, are kept.
  bool solver_bounds_hold(const Problem& problem) const override {
    // A device that runs nothing moves no copies (host I/O does not occupy): it changes no plan.
    for (int d = 0; d < problem.num_devices(); ++d) {
      if (problem.platform().devices[d].overlap_comm) continue;
      for (int v = 0; v < problem.num_nodes(); ++v)
        if (problem.can_run(v, d)) return false;
    }
    return true;
  }
  bool memory_over_time() const override { return true; }
  std::vector<double> transient_bytes(const Problem& problem, const Plan& plan) const override {
    const MemoryProfile mem = memory_profile(problem, plan);
    std::vector<double> out(mem.peak_bytes.size());
    for (size_t d = 0; d < out.size(); ++d) out[d] = mem.peak_bytes[d] - mem.resident_bytes[d];
    return out;
  }
  double quick_bound(const Problem& problem) const override {
    const double path = critical_path_bound_us(problem);
    // At most 0.1 s: split asks once per module and boundary pair (64 x 64 pairs on 64 devices,
    // where the column generation's LPs grow), and a call cannot watch the solve's deadline.
    return std::max(path, ascent_work_bound_us(problem, 1000, path, true, 0.1));
  }
  // The energetic bound (lower_bound.hpp), from the quick bound up to the caller's plan, in at
  // most 0.2 s.
  double tight_bound(const Problem& problem, double at_most) const override {
    const double quick = quick_bound(problem);
    if (quick >= at_most * (1 - 1e-9)) return quick;
    return energetic_bound_us(problem, quick, at_most, 0.2);
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
