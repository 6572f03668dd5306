// What the throughput solvers share: the resource loads of a mapping with lanes (the period's
// estimate) and the turning of a lane-by-node device choice into a decision the pipeline replay
// runs well (cyclic orders with delays, docs/formulation.md "Throughput").
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "diviml/solve/solver.hpp"

namespace diviml {

// Busy time per round of R inputs of every resource a mapping uses: each device's compute,
// each ordered device pair's link (a producer's tensor counted once per destination device,
// its largest edge there; host inputs and outputs on the host's links), and each device's way
// out of and into its server (its NIC share: copies between servers, whatever the peer). The
// pipeline cannot run faster than the busiest resource: period >= max load / R.
struct StreamLoads {
  std::vector<double> device;  // per device
  std::vector<double> link;    // per ordered pair from * k + to
  std::vector<double> nic;     // per device: its way out (d), then its way in (k + d)
  explicit StreamLoads(int devices = 0)
      : device(devices, 0.0), link(static_cast<size_t>(devices) * devices, 0.0), nic(2 * devices, 0.0) {}
  double max_load() const;
  // Resource r: devices first, then links, then NIC shares (size() of them in all).
  size_t size() const { return device.size() + link.size() + nic.size(); }
  double at(size_t r) const {
    if (r < device.size()) return device[r];
    r -= device.size();
    return r < link.size() ? link[r] : nic[r - link.size()];
  }
  // A copy of x us from `from` to `to` occupies its link, each end whose copies do not overlap
  // compute (overlap_comm false), and between servers the sender's way out and receiver's way in.
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

// How a throughput solve ranks its plans (docs/formulation.md, "Throughput: the ranking rule"):
// a plan whose steady state fits every device's memory before one that does not; then the least
// period (+inf above --max-latency-us); among plans within kPeriodTolerance of the least period,
// the least latency (latency is the second objective: a period a hair lower is not worth many
// rounds of waiting). The rule is over a set, not a pairwise order (within-tolerance is not
// transitive), so candidates are gathered in a StreamBest and picked once.
inline constexpr double kPeriodTolerance = 0.005;
struct StreamRank {
  bool fits = true;      // the steady state fits every device's memory_bytes
  double period = kInf;  // +inf: no plan, or one input above --max-latency-us
  double latency = kInf;
};
StreamRank stream_rank(const Problem& problem, const SolveContext& ctx, const Plan& plan);

// The candidates the rule could still pick, and the pick. offer() drops what can no longer win
// (a non-fitting plan once one fits; a period above the least by more than the tolerance).
template <class T>
class StreamBest {
 public:
  // Whether `rank` could be picked now (offer() keeps it then).
  bool contends(const StreamRank& rank) const {
    if (!std::isfinite(rank.period)) return false;
    if (!any_) return true;
    if (rank.fits != fits_) return rank.fits;
    return rank.period <= least_ * (1 + kPeriodTolerance) + 1e-12;
  }
  void offer(const StreamRank& rank, T value) {
    if (!contends(rank)) return;
    if (!any_ || rank.fits != fits_) {
      items_.clear();
      any_ = true;
      fits_ = rank.fits;
      least_ = rank.period;
    } else if (rank.period < least_) {
      least_ = rank.period;
      std::erase_if(items_, [&](const auto& it) { return it.first.period > least_ * (1 + kPeriodTolerance) + 1e-12; });
    }
    items_.emplace_back(rank, std::move(value));
  }
  bool empty() const { return items_.empty(); }
  // The pick: the least latency among the kept (ties: the lower period, then the first offered).
  const T* best() const { return items_.empty() ? nullptr : &items_[index()].second; }
  const StreamRank* best_rank() const { return items_.empty() ? nullptr : &items_[index()].first; }
  // The least period kept (+inf when empty).
  double least_period() const { return items_.empty() ? kInf : least_; }
  T take() { return std::move(items_[index()].second); }

 private:
  size_t index() const {
    size_t b = 0;
    for (size_t i = 1; i < items_.size(); ++i) {
      const StreamRank &x = items_[i].first, &y = items_[b].first;
      if (x.latency < y.latency || (x.latency == y.latency && x.period < y.period)) b = i;
    }
    return b;
  }
  bool any_ = false, fits_ = false;
  double least_ = kInf;
  std::vector<std::pair<StreamRank, T>> items_;
};

// The best replayed decision for a device choice, by the ranking rule above. Tried in the order:
// step 0 (no delays: the least latency), a packed schedule at the busiest load, reservation
// tables at the load and within the tolerance above it, steps 1 and 2; then, only when none of
// those is within the tolerance of the busiest load per input (no decision can be below it),
// packed schedules at 1.02 and 1.1 x and reservation tables at 1.05, 1.15 and 1.3 x. Nothing when
// none replays (the first error in `why`) or every one breaks --max-latency-us.
// The least pace (Mapping::pace_us, 0 when none is needed) at which decision `m` meets the
// context's latency limit and fits every device's memory in the steady state: bisection between
// its own period and one input at a time (paced at its latency alone), about a dozen replays.
// Nothing when even one input at a time breaks either. Pacing helps decisions without delays
// (a delayed task waits for later inputs, so a slower pace lengthens its wait).
std::optional<Mapping> paced_within(const Problem& problem, const SolveContext& ctx, Mapping m);

struct Realized {
  SolverOutput output;
  StreamRank rank;
  double score = kInf;  // the period (rank.period), kept for notes
  int step = 0;
};
std::optional<Realized> realize_pipeline(const Problem& problem, const SolveContext& ctx,
                                         const std::vector<int>& device, std::string* why = nullptr);

}  // namespace diviml
