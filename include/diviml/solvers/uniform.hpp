// `uniform`: the pipeline a practitioner writes by hand. The graph's topological order is cut
// into contiguous stages with equal shares of its weights and state (for a transformer: equal
// layers), one stage per accelerator in platform order (servers in order; the CPUs only where
// the platform has no other device). Each device runs its stage in topological order. A stage
// that does not fit its device's memory, that a device cannot run, or whose tensors find no
// link is an infeasible plan, said in one line: the baseline is what it is, not repaired. A
// latency baseline; proves nothing.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

class UniformSolver : public Solver {
 public:
  std::string name() const override { return "uniform"; }
  std::string description() const override {
    return "hand-written pipeline: equal shares of the weights per accelerator, in platform order";
  }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
