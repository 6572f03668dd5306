// `milp`: the exact mapping-and-scheduling MILP of DiviML for the latency objective
// (docs/formulation.md), built on the solver-neutral MilpModel and solved by a MilpBackend
// (CBC by default).
//
// Big-M and the MIP start come from the best baseline plan (fastest or HEFT), so the result
// is never worse than that plan; on a time limit the best plan found is returned with status
// `feasible` and the backend's best bound.
#pragma once

#include <chrono>

#include "diviml/milp/milp.hpp"
#include "diviml/sched/solver.hpp"

namespace diviml {

// The latency MILP of a problem and how to read a solution back.
struct LatencyMilp {
  MilpModel model;
  std::vector<std::vector<int>> x;  // x[node][device] column, -1 where the node cannot run
  std::vector<int> start;           // S_i column per node
  int cmax = -1;
  struct OrderVar {
    int column, first, second;  // column = 1 when `first` runs before `second`
  };
  std::vector<OrderVar> order;      // one per unordered pair that needed an order binary
  double horizon_us = 0;            // big-M horizon H (upper bound on the makespan)
  bool incomplete = false;          // the deadline came while building: the model is unusable
};

// Pairs of nodes that neither precedes the other (each needs an order binary in the MILP):
// the measure of how hard the MILP is. Bitset transitive closure, O(n * E / 64 + n^2).
long count_unordered_pairs(const Graph& graph);

// Builds the model. `incumbent` (optional) supplies the horizon and the MIP start.
// Stops early (incomplete = true) when `deadline` passes during the build.
LatencyMilp build_latency_milp(const Problem& problem, const Plan* incumbent,
                               std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());
// Device per node and per-device order (by start time) from a solution vector.
Mapping mapping_from_solution(const Problem& problem, const LatencyMilp& milp, const std::vector<double>& x);

class MilpSolver : public Solver {
 public:
  explicit MilpSolver(std::unique_ptr<MilpBackend> backend = make_cbc_backend()) : backend_(std::move(backend)) {}
  std::string name() const override { return "milp"; }
  std::string description() const override { return "exact MILP (CBC), best plan and bound within --time-limit"; }
  Result<SolverOutput> run(const Problem& problem, const SolveOptions& options) const override;

 private:
  std::unique_ptr<MilpBackend> backend_;
};

}  // namespace diviml
