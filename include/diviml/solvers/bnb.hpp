// Exact branch and bound for small problems (`--solver bnb`; split uses it on pinned modules
// and segments before the MILP).
//
// A schedule is built by appending one node at a time to a device, starting as early as its
// device and inputs allow. Every semi-active schedule (each node as early as its per-device
// order allows; some optimal schedule is one) is generated exactly once when appends happen in
// order of non-decreasing start time, ties broken by topological position, so the search only
// branches on (ready node, device) pairs that keep that order. A partial schedule is dropped
// when a lower bound reaches the incumbent: the latest finish so far (with returns to the
// host), every unscheduled node's earliest start plus its tail (per device, with the cheapest
// transfers to its successors' devices: heads_and_tails), and the remaining work spread over the devices from the time
// each becomes free, weighted uniformly (fastest-device work) and, on 5-8 devices, by the LP work bound's device
// weights, which let a slow device (a CPU beside GPUs) count for what it can take. Then the
// window test against the incumbent: a node can only run on the devices where its earliest
// start plus its tail ends below it, so nodes confined to one device queue there (heads,
// costs, tails), and, on up to 4 devices, nodes confined to a set of devices share the
// devices of that set they use; when neither fits, no completion beats the incumbent.
// Colocation groups are kept as the search appends (a group's members go where its first one
// went, a device that runs the group whole, its weights reserved at once), so the search is
// exact with them. Finishing the search proves the incumbent optimal; the search stops at
// --time-limit or after `max_expansions` partial schedules with the best plan so far.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

struct BnbResult {
  Mapping mapping;
  double makespan_us = kInf;  // of `mapping`, as the search computed it (replay agrees)
  bool proven = false;        // the search ran to completion and found a plan: it is optimal
  bool complete = false;      // the search ran to completion (with or without a plan)
  double bound_us = 0;        // proven lower bound on the optimum (the cutoff when complete
                              // without a plan below it; the root's bound when stopped)
  long expansions = 0;
};

// `start`, when given, is the first incumbent (a valid mapping of the same problem). Graphs of
// more than 5000 nodes are not searched (the incumbent comes back, not proven).
// `break_symmetry`: of identical devices (cost/symmetry.hpp) still unused, only the first is
// tried (the others give mirror images of the same schedules).
// `cutoff`: only plans below it are sought; a complete search without one proves the optimum
// is at least the cutoff (bound_us) and returns no mapping.
BnbResult branch_and_bound(const Problem& problem, const Mapping* start, double time_limit_s, long max_expansions,
                           bool break_symmetry = false, double cutoff = kInf);

class BnbSolver : public Solver {
 public:
  std::string name() const override { return "bnb"; }
  std::string description() const override {
    return "exact branch and bound over schedules (small graphs; best plan at --time-limit)";
  }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
