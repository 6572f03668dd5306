// `stages`: pipeline parallelism for the throughput objective, by the DP over contiguous splits
// of a topological order that PipeDream (Narayanan et al., SOSP 2019) and Tarnawski et al.
// (NeurIPS 2020) use. The order is cut into consecutive stages, each on its own device (a device
// holds at most one stage; devices may stay unused); a DP over (prefix, devices used, last
// device) minimises the estimated bottleneck: the largest of each stage's compute, the host
// transfers on each stage's host links, and the tensors entering each stage (counted on the
// link from the previous stage's device). Memory capacities are kept. One lane: every input
// runs through the same stages; solve() replays the split exactly. Proves nothing.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

class StagesSolver : public Solver {
 public:
  static constexpr int kMaxDevices = 10;  // the DP is exponential in the devices
  std::string name() const override { return "stages"; }
  std::string description() const override {
    return "throughput: pipeline stages, a DP over contiguous splits of a topological order";
  }
  bool supports(const Objective& objective) const override { return objective.name() == "throughput"; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
