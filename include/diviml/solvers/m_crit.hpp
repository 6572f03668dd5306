// `m-crit`: memory to the ops whose speed matters most, per byte. Where weights do not fit the
// fast devices, which ops get their memory decides the plan: an LLM layer's attention heads
// run side by side (on slow devices too, in parallel), its MLP's two large products one after
// the other (on a slow device each is on the critical path). HEFT fills the fast devices layer
// by layer and leaves whole layers, MLP included, on one slow CPU.
//
// Each weighted op is scored by (slowest - fastest cost) / (ops at its depth) / resident bytes:
// the time a fast device saves it, shared among the ops that could run beside it (depth: the
// longest path in ops from a source), per byte it holds. In descending score each takes the
// device that can hold it where its cost plus half the work already given to that device is
// least (so parallel ops spread over the slow devices). Then HEFT places the ops without
// weights (earliest finish, transfers counted) with every weighted op pinned where it was put,
// and orders every device. Where the greedy finds no room, any assignment that fits (a search).
// A latency baseline; proves nothing. On GPT-3 175B per head on cluster-3srv: 194 s against
// HEFT's 209 s (docs/results.md, "Scale").
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

class MCritSolver : public Solver {
 public:
  std::string name() const override { return "m-crit"; }
  std::string description() const override {
    return "memory to the ops a fast device speeds up most per byte, serial ops first; balanced";
  }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
