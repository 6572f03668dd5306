// The latency MILP (docs/formulation.md, "The exact MILP") as a solver-neutral MilpModel, and
// how to read a solution back. Built here, solved by any MilpBackend (CBC in cbc_backend.cpp).
#pragma once

#include <chrono>
#include <vector>

#include "diviml/cost/symmetry.hpp"
#include "diviml/milp/milp.hpp"
#include "diviml/objective/plan.hpp"

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
  std::vector<OrderVar> order;  // one per unordered pair that needed an order binary
  double horizon_us = 0;        // big-M horizon H (upper bound on the makespan)
  bool incomplete = false;      // the deadline came while building: the model is unusable
};

// Pairs of nodes that neither precedes the other (each needs an order binary in the MILP):
// the measure of how hard the MILP is. Bitset transitive closure, O(n * E / 64 + n^2).
long count_unordered_pairs(const Graph& graph);

// Builds the model. `incumbent` (optional) supplies the horizon and the MIP start.
// Stops early (incomplete = true) when `deadline` passes during the build.
// `symmetry` adds ordering rows between identical devices (cost/symmetry.hpp); the incumbent
// must already be in that order (canonical_permutation), or the MIP start is rejected.
LatencyMilp build_latency_milp(
    const Problem& problem, const Plan* incumbent,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max(),
    SymmetryRule symmetry = SymmetryRule::kNone);
// Device per node and per-device order (by start time) from a solution vector.
Mapping mapping_from_solution(const Problem& problem, const LatencyMilp& milp, const std::vector<double>& x);

}  // namespace diviml
