// Baseline solvers that prove nothing: the whole model on its best single device, and HEFT.
#pragma once

#include <optional>

#include "diviml/sched/solver.hpp"

namespace diviml {

// `fastest`: every node on the one device that gives the lowest replayed makespan among
// devices that can run all nodes and hold all weights; nodes in topological order.
class FastestSolver : public Solver {
 public:
  std::string name() const override { return "fastest"; }
  std::string description() const override { return "whole graph on the best single device"; }
  Result<SolverOutput> run(const Problem& problem, const SolveOptions& options) const override;
};

// `heft`: Heterogeneous Earliest Finish Time (Topcuoglu, Hariri, Wu; IEEE TPDS 2002) with
// insertion. Priority = upward rank over mean compute cost (over devices that can run the
// node) and mean transfer delay (over distinct device pairs with a link); ties go to the
// earlier node in topological order. Each node goes to the device with the earliest finish
// (plus its return to the host for sinks), skipping devices whose memory it would overflow.
class HeftSolver : public Solver {
 public:
  std::string name() const override { return "heft"; }
  std::string description() const override { return "insertion-based HEFT list scheduling"; }
  Result<SolverOutput> run(const Problem& problem, const SolveOptions& options) const override;
};

// Any device assignment that respects can-run, host links, memory capacities and the links
// every edge needs: a depth-first search in topological order, fastest devices first, at most
// `max_steps` device tries (exhaustive within them). nullopt when none was found.
std::optional<std::vector<int>> feasible_assignment(const Problem& problem, long max_steps);
inline constexpr long kFeasibleSearchSteps = 1000000;

// The better (lower replayed makespan) of HEFT's and fastest's plans, or nothing when neither
// gives one (memory, forbidden devices).
std::optional<SolverOutput> best_baseline(const Problem& problem, const SolveOptions& options);

// Local improvement of a mapping: moves one node at a time to another device, into that
// device's order just before the first node that starts no earlier than the node's inputs can
// arrive there, and keeps the move when it lowers (replayed makespan, sum of node ends)
// lexicographically, so plateaus of equal makespan can be crossed (memory capacities kept).
// Passes over the nodes in topological order until a pass finds nothing or `time_limit_s` ends.
// Returns the improved mapping (the input when nothing helps or it does not replay).
Mapping improve_by_moves(const Problem& problem, Mapping mapping, double time_limit_s);

// Upward ranks used by HEFT (exposed for tests against the published example).
std::vector<double> heft_upward_rank(const Problem& problem);
// HEFT's list: descending upward rank, ties by topological position, repaired into a
// topological order (zero-cost nodes can tie with their successors).
std::vector<int> heft_priority(const Problem& problem);

}  // namespace diviml
