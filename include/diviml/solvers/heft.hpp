// `heft`: Heterogeneous Earliest Finish Time (Topcuoglu, Hariri, Wu; IEEE TPDS 2002) with
// insertion. Priority = upward rank over mean compute cost (over devices that can run the
// node) and mean transfer delay (over distinct device pairs with a link); ties go to the
// earlier node in topological order. Each node goes to the device with the earliest finish
// (plus its return to the host for sinks), skipping devices whose memory it would overflow.
// A latency heuristic; proves nothing.
#pragma once

#include <vector>

#include "diviml/solve/solver.hpp"

namespace diviml {

class HeftSolver : public Solver {
 public:
  std::string name() const override { return "heft"; }
  std::string description() const override { return "insertion-based HEFT list scheduling"; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

// Upward ranks used by HEFT (exposed for tests against the published example).
std::vector<double> heft_upward_rank(const Problem& problem);
// HEFT's list: descending upward rank, ties by topological position, repaired into a
// topological order (zero-cost nodes can tie with their successors).
std::vector<int> heft_priority(const Problem& problem);

}  // namespace diviml
