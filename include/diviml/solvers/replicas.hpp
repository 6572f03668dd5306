// `replicas`: the data-parallel baseline of the throughput objective. Whole-model replicas on
// the devices that can run every node and hold every weight, inputs dealt over them in
// proportion to their speed: lanes are given to devices by largest remainder of speed shares
// (speed = 1 / the device's own period with the whole model), each device runs its lanes one
// after another in topological order. Among lane counts up to 16 and the fastest j devices,
// the three best by the analytic period (max over devices of lanes x own period / lanes) are
// replayed and the best replayed period is kept (ties: fewer lanes). Proves nothing.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

class ReplicasSolver : public Solver {
 public:
  std::string name() const override { return "replicas"; }
  std::string description() const override {
    return "throughput: whole-model replicas on every device that holds the model, inputs dealt by speed";
  }
  bool supports(const Objective& objective) const override { return objective.name() == "throughput"; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
