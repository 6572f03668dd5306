// What the searching solvers start from: the better baseline plan, or any feasible assignment.
#pragma once

#include <optional>
#include <vector>

#include "diviml/solve/solver.hpp"

namespace diviml {

// The best (by the context's objective) of HEFT's and fastest's plans, and where weights and
// state do not fit every device (latency), of m-etf's, m-sct's and m-topo's too; nothing when
// none gives one (memory, forbidden devices). Computed once per top-level problem (cached).
struct BaselinePlan {
  std::string solver;  // "heft", "fastest", "m-etf", "m-sct" or "m-topo"
  SolverOutput output;
};
std::optional<BaselinePlan> best_baseline(const Problem& problem, const SolveContext& ctx);

// Lanes per consumer (device or pipeline) for `lanes` lanes by largest remainder of their rates
// (inputs per microsecond): a throughput plan's inputs dealt in proportion to speed.
std::vector<int> deal_lanes(const std::vector<double>& rate, int lanes);
// The consumer of each lane for the given lanes per consumer, dealt round-robin over the
// consumers that still have some, so that consecutive inputs go to different consumers.
std::vector<int> lane_order(const std::vector<int>& count);

// Any device assignment that respects can-run, host links, memory capacities, colocation groups
// (every member where the first placed one is) and the links every edge needs: a depth-first
// search in topological order, fastest devices first, at most `max_steps` device tries
// (exhaustive within them). nullopt when none was found.
std::optional<std::vector<int>> feasible_assignment(const Problem& problem, long max_steps);
inline constexpr long kFeasibleSearchSteps = 1000000;

}  // namespace diviml
