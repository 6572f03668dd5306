// What the throughput solvers share: the resource loads of a mapping with lanes (the period's
// estimate) and the turning of a lane-by-node device choice into a decision the pipeline replay
// runs well (cyclic orders with delays, docs/formulation.md "Throughput").
#pragma once

#include <algorithm>
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
  explicit StreamLoads(int devices = 0) : device(devices, 0.0), link(static_cast<size_t>(devices) * devices, 0.0) {}
  double max_load() const;
  // Resource r: devices first, then links (size() of them in all).
  size_t size() const { return device.size() + link.size(); }
  double at(size_t r) const { return r < device.size() ? device[r] : link[r - device.size()]; }
  // A copy of x us from `from` to `to` occupies its link, and each end whose copies do not
  // overlap compute (overlap_comm false).
  void add_copy(const Platform& platform, int from, int to, double x);
};
// The tensor moves of producer `node` on device `from`, into `to` (resized to the devices): per
// destination device, the largest transfer time of its edges to consumers there (a tensor moves
// once per destination however many read it), -1 where none goes. `device_of(consumer)` is the
// consumer's device, or -1 to leave that consumer out.
template <class DeviceOf>
void tensor_moves(const Problem& problem, int node, int from, DeviceOf device_of, std::vector<double>& to) {
  to.assign(problem.num_devices(), -1.0);
  for (int e : problem.graph().out_edges(node)) {
    const int b = device_of(problem.graph().edges[e].dst);
    if (b >= 0 && b != from) to[b] = std::max(to[b], problem.comm_us(e, from, b));
  }
}

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

// A modulo schedule that always finds room when the round is at least the busiest load: tasks
// by list scheduling (earliest arrival of their inputs first), and every device and link keeps
// its intervals contiguous modulo the round except for gaps that add up to at most its slack
// (round minus load); a task that would need a larger gap waits whole rounds instead. Nothing
// when the round is below the busiest load, a delay would exceed kMaxDelay, or a device's copies
// occupy it (overlap_comm false).
std::optional<Mapping> packed_modulo_mapping(const Problem& problem, const std::vector<int>& device, double round_us);

// The best replayed decision (by the context's score) for a device choice, tried in the order
// step 0, a packed schedule at the busiest load, steps 1 and 2, packed at 1.02 and 1.1 x, and
// reservation-table modulo schedules at 1, 1.05, 1.15 and 1.3 x, stopping once one is within
// 0.5% of the busiest load per input (the rest could only trade latency); among the decisions
// within 0.5% of the least period, the one with the least latency (delays can cost a lot of
// latency for a hair of period). Nothing when none replays (the first error
// in `why`) or every one breaks --max-latency-us.
struct Realized {
  SolverOutput output;
  double score = kInf;  // the context's score of its plan (period, or +inf above the limit)
  int step = 0;
};
std::optional<Realized> realize_pipeline(const Problem& problem, const SolveContext& ctx,
                                         const std::vector<int>& device, std::string* why = nullptr);

}  // namespace diviml
