// `comm-greedy`: the seed papers' greedy partitioner (after Tavarageri et al., 2019). Walks the
// units (colocation groups and single nodes, partition.hpp) in topological order of their first
// member and puts each on the device where the transfers from its already placed predecessors
// plus its own work plus a load penalty is least; the penalty is how far the device's work would
// pass its target (its share of the whole, in proportion to its speed, plus 5%). Weights that do
// not fit a device rule it out. Timed as HEFT's list (latency) or a pipeline (throughput).
// A heuristic; proves nothing.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

class CommGreedySolver : public Solver {
 public:
  std::string name() const override { return "comm-greedy"; }
  std::string description() const override {
    return "greedy partitioner: least transfers from placed predecessors plus a load penalty";
  }
  bool supports(const Objective&) const override { return true; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
