// What the partitioners (`metis`, `comm-greedy`) share. They decide only a device per node, from
// a graph of *units*: each colocation group is one unit (its members move together), every other
// node a unit of its own. Their decisions are then timed the same way as every other solver's:
// list-scheduled in HEFT's priority order (latency) or realised as a pipeline with delays
// (throughput, realize_pipeline). Both support both objectives.
#pragma once

#include <string>
#include <vector>

#include "diviml/solve/solver.hpp"

namespace diviml {

struct Units {
  std::vector<int> of;                    // per node: its unit
  std::vector<std::vector<int>> members;  // per unit: its nodes, ascending
  std::vector<int> order;                 // units by the topological position of their first member
  int size() const { return static_cast<int>(members.size()); }
};
Units partition_units(const Problem& problem);

// Target share of the work per device, proportional to its speed (1 / the whole graph's work on
// it; 0 where some node cannot run); sums to 1.
std::vector<double> device_shares(const Problem& problem);

// Whether every member of unit u can run on device d, its host inputs and outputs linked.
bool unit_runs(const Problem& problem, const Units& units, int u, int d);
// A device that runs every member of unit u (host links aside; Problem::build guarantees one).
int any_device(const Problem& problem, const Units& units, int u);

// Makes the units' device choice a pipeline: with the units in `units.order` and only the edges
// that go forward in that order (a training step's gradients go back and are left out), the
// parts are ranked by the mean position of their units, and a unit whose part ranks below a
// predecessor's moves to that predecessor's part, so parts form a DAG. Returns the units moved.
int make_acyclic(const Problem& problem, const Units& units, std::vector<int>& unit_device);

// Moves units off devices whose resident weights overflow (largest first) to the device with
// room and the least work; false when some device still overflows.
bool fit_units(const Problem& problem, const Units& units, std::vector<int>& unit_device);

// The timed decision for a device per node under the context's objective (see the top).
// `units` are partition_units(problem).
Result<SolverOutput> decision_for(const Problem& problem, const SolveContext& ctx, const Units& units,
                                  const std::vector<int>& device, const std::string& solver);

}  // namespace diviml
