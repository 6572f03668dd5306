// `balance`: the local search of the throughput objective, for graphs of any size. It moves one
// (lane, node) task at a time to the device that most lowers the busiest resource of the round
// (stream_loads: device compute, link and host-link occupancy, per round of R lanes), ties
// broken by the sum of squared loads, in seeded random passes until no move helps or the time
// limit. Loads are kept incrementally (a move touches its device pair, its own tensors and its
// predecessors' tensors), so a pass costs about (lanes x edges x devices x log resources).
// Starts: the work LP's shares rounded into 1, 2, 4 and k lanes, the best baseline's mapping in
// one lane, the plans of `stages` (up to 10 devices) and `replicas` (each within a quarter of
// the time left), whole-model replicas dealt by speed over 1..4 lanes; then an iterated local
// search from the least load. The choices are realised with delays (realize_pipeline) and
// replayed, least load first; the best replayed plan is kept. Proves nothing.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

class BalanceSolver : public Solver {
 public:
  std::string name() const override { return "balance"; }
  std::string description() const override {
    return "throughput: local search moving single tasks to balance device and link loads";
  }
  bool supports(const Objective& objective) const override { return objective.name() == "throughput"; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
