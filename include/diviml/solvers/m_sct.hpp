// `m-sct`: Baechi's memory-constrained Small Communication Times placement (Jeon et al., SoCC
// 2020, m-SCT, after Hanen and Munier's SCT). An LP relaxation picks for each node at most one
// favourite child (and each node at most one favourite parent): edges whose communication the
// LP drops below half are the favourite links. Then list scheduling as in m-ETF, except that a
// node whose favourite parent is placed goes to that parent's device whenever that device can
// run it and hold its resident bytes (the communication saved is the point of the favourite).
// The LP: start times s, per edge x in [0, 1] (1: the transfer is paid), s_j >= s_i + p_i +
// c_ij x_ij, sum over a node's children of x >= children - 1, the same over its parents,
// makespan >= s_i + p_i; p is the node's fastest cost and c the edge's mean transfer time over
// the device pairs with a link. It gets at most a tenth of the time left (and 10 s), and runs
// only on graphs of at most 20,000 edges (CLP's presolve does not watch the clock); without
// an LP answer, each node's heaviest outgoing edge is its favourite link (said in a note).
// Past the deadline the remaining nodes are listed in topological order.
// Where no pair fits, any assignment that fits (a search) is used. A latency baseline; proves
// nothing.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

class MSctSolver : public Solver {
 public:
  std::string name() const override { return "m-sct"; }
  std::string description() const override {
    return "Baechi m-SCT: LP-chosen favourite children kept on their parent's device, memory-aware";
  }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
