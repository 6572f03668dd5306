// `m-topo`: Baechi's memory-constrained topological placement (Jeon et al., SoCC 2020, m-TOPO).
// Nodes go in topological order to one device until it holds its share of the graph's resident
// bytes (weights and state: the total over the number of devices, capped by its capacity),
// then to the next device, in platform order. A node the current device cannot run, or that
// would overflow it, goes to the first later device that can take it. Each device runs its
// nodes in topological order. Where the walk finds no room, any assignment that fits (a
// search) is used instead. A latency baseline; proves nothing.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

class MTopoSolver : public Solver {
 public:
  std::string name() const override { return "m-topo"; }
  std::string description() const override { return "Baechi m-TOPO: topological order, equal memory shares"; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
