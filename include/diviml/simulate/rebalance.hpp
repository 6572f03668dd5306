// Runtime rebalancing, simulated on the replay (after Tavarageri et al.'s "hardware scheduling
// assistants"): a plan made from profiled costs runs on devices whose true costs drift (a
// device slowed by some factor, per-op noise); an assistant that sees only what a runtime
// measures moves work across the partition boundary, one unit at a time, and keeps what helps.
//
// Each epoch the plan runs (objective.evaluate on the true costs: one input's replay for
// latency, the pipeline replay for throughput) and the assistant measures:
//   - per device, its busy time (the true costs of the tasks it ran) and its slowdown against
//     the profile (true / profiled over those tasks);
//   - the value (makespan or period). A move that made it worse is rolled back and not retried.
// It then moves one boundary unit (a colocation group or a single node with a tensor to or from
// the other device, partition.hpp; on a device that shares no tensor with another, any unit)
// off the busiest device to a neighbour that runs it and has
// room for its weights, the one whose estimated busy times (the neighbour's cost from the
// profile times its measured slowdown) have the least maximum, when that is below the busiest
// device's now. The new decision is timed on the profile (HEFT's list for latency, a realised
// pipeline for throughput), as a runtime would re-issue it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "diviml/solve/context.hpp"

namespace diviml {

struct Perturbation {
  std::vector<double> slowdown;  // per device, true / profiled cost (1: as profiled); empty: all 1
  double noise = 0;              // sigma of a log-normal factor per (op, device), mean 1; 0: none
  std::uint64_t seed = 0;
};

// The problem with the true costs: every finite cost times the device's slowdown and the op's
// noise factor (transfers and memory unchanged). Errors name a bad factor.
Result<Problem> perturbed(const Problem& profile, const Perturbation& perturbation);

struct RebalanceResult {
  double predicted = 0;   // the plan's value on the profiled costs
  double unbalanced = 0;  // its value on the true costs, as planned
  double rebalanced = 0;  // the best value measured over the epochs (the decision kept)
  int epochs = 0, moves = 0, rollbacks = 0;
  Mapping mapping;               // the decision kept
  std::vector<std::string> log;  // one line per move
};

// Runs at most `epochs` epochs (or until no move helps, or the context's deadline).
Result<RebalanceResult> rebalance(const Problem& profile, const Problem& truth, const Mapping& start,
                                  const SolveContext& ctx, int epochs);

}  // namespace diviml
