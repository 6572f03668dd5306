// `auto`, the project's default: the best of the solvers that support the objective (latency:
// fastest, heft and split, plus the MILP on graphs small enough for it, option
// auto-milp-pairs; throughput: fastest and replicas); keeps the plan with the best value. So the
// default is never worse than the whole model on one device, and proven optimal on small graphs.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

class AutoSolver : public Solver {
 public:
  std::string name() const override { return "auto"; }
  std::string description() const override {
    return "best of fastest, heft and split, plus milp (auto-milp-time) on graphs with few unordered pairs "
           "(auto-milp-pairs)";
  }
  // Any objective: its portfolio is the solvers that support it.
  bool supports(const Objective&) const override { return true; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
