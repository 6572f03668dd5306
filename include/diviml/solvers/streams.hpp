// What the throughput solvers share: the resource loads of a mapping with lanes (the period's
// estimate) and the turning of a lane-by-node device choice into a decision the pipeline replay
// runs well (cyclic orders with delays, docs/formulation.md "Throughput").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "diviml/solve/solver.hpp"

namespace diviml {

// Busy time per round of R inputs of every resource a mapping uses: each device's compute,
// each ordered device pair's link (a producer's tensor counted once per destination device,
// its largest edge there; host inputs and outputs on the host's links). The pipeline cannot
// run faster than the busiest resource: period >= max load / R.
struct StreamLoads {
  std::vector<double> device;  // per device
  std::vector<double> link;    // per ordered pair from * k + to
  double max_load() const;
};
// Infinite entries when a task cannot run where it is mapped or a link is missing.
StreamLoads stream_loads(const Problem& problem, const std::vector<int>& device);

// The decision for a lane-by-node device choice (task = lane * n + node): every device runs
// its tasks lane by lane in topological order; with step s > 0 a task's delay is the most,
// over its predecessors, of theirs plus s when the predecessor sits on another device (capped
// at kMaxDelay), so that a device never waits within a round for a tensor produced in the same
// round elsewhere (modulo scheduling). Step 0: no delays (lowest latency).
Mapping pipelined_mapping(const Problem& problem, const std::vector<int>& device, int step);

// The decision of a modulo schedule with a round of `round_us` (R inputs, R x the target period):
// tasks in topological order lane by lane, each at the earliest time its inputs have arrived at
// which its device is free for its whole duration in every round (a reservation table modulo
// the round), its tensor moves likewise on their links; a task's delay is its start's round,
// its device order the starts within the round. Nothing when a task finds no room (fragmented
// round) or a delay would exceed kMaxDelay.
std::optional<Mapping> modulo_mapping(const Problem& problem, const std::vector<int>& device, double round_us);

// The best replayed decision (by the context's score) over steps 0, 1 and 2 and modulo
// schedules at rounds of 1, 1.05, 1.15 and 1.3 x the busiest load for a device choice;
// among the decisions within 0.5% of the least period, the one with the least latency (delays
// can cost a lot of latency for a hair of period). Nothing when none replays (the first error
// in `why`) or every one breaks --max-latency-us.
struct Realized {
  SolverOutput output;
  double score = kInf;  // the context's score of its plan (period, or +inf above the limit)
  int step = 0;
};
std::optional<Realized> realize_pipeline(const Problem& problem, const SolveContext& ctx,
                                         const std::vector<int>& device, std::string* why = nullptr);

}  // namespace diviml
