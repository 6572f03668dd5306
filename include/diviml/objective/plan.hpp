// A plan: where and when each node runs, and the transfers it implies (plan file
// `diviml.plan/1`, docs/formats.md). Times in microseconds from the start of one inference.
#pragma once

#include <string>
#include <vector>

#include "diviml/cost/problem.hpp"

namespace diviml {

// What a solver proved about its plan (the "model status"; whether the call worked at all
// is the Result around the plan).
enum class PlanStatus { kOptimal, kFeasible, kHeuristic };
const char* to_string(PlanStatus s);
Result<PlanStatus> plan_status_from_string(const std::string& s);

// A plan is `optimal` only when its makespan meets a proven lower bound within this relative
// tolerance (solvers' bounds carry floating-point and LP tolerances). The validator rejects an
// `optimal` plan whose gap is larger.
inline constexpr double kOptimalityTolerance = 1e-6;
inline bool meets_bound(double makespan_us, double bound_us) {
  return makespan_us - bound_us <= kOptimalityTolerance * (makespan_us > 1 ? makespan_us : 1.0);
}

struct Placement {
  int node = -1;
  int device = -1;
  double start_us = 0;
  double end_us = 0;
  int lane = 0;  // throughput plans: which lane (input n follows lane n mod lanes); 0 otherwise
  // Throughput plans: the task's delay in rounds. In every round of its device it works on the
  // input of its lane injected `delay` rounds earlier (modulo scheduling); 0 otherwise.
  int delay = 0;
};

// Largest delay a throughput plan may give a task (the replay runs at least 2x + 8 rounds).
inline constexpr int kMaxDelay = 1024;

struct Transfer {
  int edge = -1;  // graph edge index (throughput: the first edge from the producer to that device)
  int from = -1, to = -1;
  double start_us = 0, end_us = 0;
  int lane = 0;  // throughput plans: the lane of the tensor
};

// Model input from the host (to_host = false) or a sink's output back to it (to_host = true).
struct HostTransfer {
  int node = -1;
  bool to_host = false;
  int from = -1, to = -1;
  double start_us = 0, end_us = 0;
  double bytes = 0;
  int lane = 0;  // throughput plans
};

// Device choice and per-device execution order: what a solver decides. Times follow by replay.
// For the latency objective a task is a node. For the throughput objective a mapping may hold
// R >= 1 lanes: task t = lane * num_nodes + node, `device` has R * num_nodes entries, and each
// device's order is the cyclic order it repeats once per round of R inputs. `delay` (per task,
// empty = all 0) shifts a task to older inputs: in device round q it works on the input of round
// q - delay; delays that never decrease along an edge, with each device's order topological
// among tasks of equal delay, cannot deadlock.
//
// `pace_us` (throughput): inputs arrive no faster than one per pace_us. 0 injects them as fast
// as the devices keep up (the least period); a longer pace gives up period for latency and memory
// (fewer inputs wait inside the pipeline): a plan paced at one input's time alone runs each input
// as the latency replay would.
struct Mapping {
  std::vector<int> device;              // per task
  std::vector<std::vector<int>> order;  // per device: tasks in execution order
  std::vector<int> delay = {};          // throughput: per task, rounds (empty: none)
  double pace_us = 0;                   // throughput: the least time between inputs (0: none)
};

// One module of a module-splitting solve (written to the plan file as "modules").
struct ModuleSummary {
  int entry = -1, exit = -1;           // boundary nodes (-1: the graph's start / end)
  int size = 0;                        // nodes inside, boundaries excluded
  int channels = 1;                    // most tensors crossing a cut inside (1: split nodes only)
  int segments = 1;                    // segments of a multi-channel cut (1: solved whole)
  std::vector<std::vector<int>> cuts;  // per cut inside: the producers whose tensors cross it
  bool chain = false;                  // solved by DP over devices, without a MILP
  bool fused = false;                  // solved whole after fusing cheap followers (too large, not cut)
  bool proven = false;                 // every pinned-boundary solve of it is optimal
};

struct Plan {
  std::string objective = "latency";  // what the plan is scored by: "latency" or "throughput"
  std::string solver;
  PlanStatus status = PlanStatus::kHeuristic;
  double makespan_us = 0;     // latency: the makespan; throughput: one input's latency (= latency_us)
  double lower_bound_us = 0;  // a proven bound on the objective's value (makespan, or period)
  // Throughput plans (docs/formats.md): the steady state of a stream of inputs.
  int lanes = 1;          // R: input n follows lane n mod R
  double period_us = 0;   // time between consecutive inputs
  double latency_us = 0;  // one input's time from injection to its last output, at that period
  double solve_time_s = 0;
  std::vector<Placement> placements;  // indexed by node
  std::vector<Transfer> transfers;    // one per edge whose ends sit on different devices
  std::vector<HostTransfer> host_transfers;
  std::vector<std::string> notes;      // solver remarks written to the plan file
  std::vector<ModuleSummary> modules;  // module-splitting solvers only

  // Inputs per second of a throughput plan: 1e6 / period_us (0 when the period is 0).
  double throughput_per_s() const { return period_us > 0 ? 1e6 / period_us : 0.0; }
  // The objective's value: the period for throughput, else the makespan (lower is better).
  double value() const { return objective == "throughput" ? period_us : makespan_us; }
  // Gap between value and lower bound relative to the value, in [0, 1].
  double gap() const;
};

}  // namespace diviml
