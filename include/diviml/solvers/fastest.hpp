// `fastest`: every node on the one device that gives the best value among devices that can
// run all nodes and hold all weights; nodes in topological order (one lane). Proves nothing.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

class FastestSolver : public Solver {
 public:
  std::string name() const override { return "fastest"; }
  std::string description() const override { return "whole graph on the best single device"; }
  // Any objective: it only compares the objective's values of single-device mappings (for
  // throughput, the model pipelined on one device).
  bool supports(const Objective&) const override { return true; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
