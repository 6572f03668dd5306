// `m-etf`: Baechi's memory-constrained Earliest Task First (Jeon et al., SoCC 2020, m-ETF,
// after Hwang et al. 1989). At each step, among the nodes whose predecessors are placed and the
// devices that can run them, hold their resident bytes and reach their inputs, the pair that
// can start earliest goes (no insertion: after the device's last node); ties go to the node
// earlier in topological order, then to the lower device index. Where no pair fits, any
// assignment that fits (a search) is list-scheduled in topological order. Past the time limit
// the remaining nodes go in topological order, each to its earliest start. A latency baseline;
// proves nothing.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

class MEtfSolver : public Solver {
 public:
  std::string name() const override { return "m-etf"; }
  std::string description() const override { return "Baechi m-ETF: earliest start first, memory-aware"; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
