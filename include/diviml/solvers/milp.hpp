// `milp`: the exact mapping-and-scheduling MILP of DiviML for the latency objective
// (docs/formulation.md), built on the solver-neutral MilpModel and solved by a MilpBackend
// (CBC by default).
//
// Big-M and the MIP start come from the best baseline plan (fastest or HEFT), so the result
// is never worse than that plan; on a time limit the best plan found is returned with status
// `feasible` and the backend's best bound.
#pragma once

#include <memory>

#include "diviml/milp/milp.hpp"
#include "diviml/solve/solver.hpp"

namespace diviml {

class MilpSolver : public Solver {
 public:
  explicit MilpSolver(std::unique_ptr<MilpBackend> backend = make_cbc_backend()) : backend_(std::move(backend)) {}
  std::string name() const override { return "milp"; }
  std::string description() const override { return "exact MILP (CBC), best plan and bound within --time-limit"; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;

 private:
  std::unique_ptr<MilpBackend> backend_;
};

}  // namespace diviml
