// `milp`: the exact mapping-and-scheduling MILP of DiviML for the latency objective
// (docs/formulation.md), built on the solver-neutral MilpModel and solved by a MilpBackend
// (CBC by default).
//
// Big-M and the MIP start come from the best baseline plan (fastest or HEFT), so the result
// is never worse than that plan; on a time limit the best plan found is returned with status
// `feasible` and the backend's best bound.
//
// Throughput: the period MILP of milp/throughput_milp.hpp for R = 1..4 lanes (at most the
// number of devices), each given an equal share of the time after a `balance` start (a quarter
// of the limit) that is also its MIP start at its lane count. Each solution is realised with
// delays and replayed (realize_pipeline); the best replayed plan is kept, never worse than the
// start. The MILP's value is a bound for plans with that many lanes only (said in the notes);
// `optimal` comes, as always, from the objective's proven bound.
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
  bool supports(const Objective&) const override { return true; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;

 private:
  Result<SolverOutput> run_throughput(const Problem& problem, const SolveContext& ctx) const;
  std::unique_ptr<MilpBackend> backend_;
};

}  // namespace diviml
