// Module splitting for the throughput objective (docs/formulation.md, "Throughput"): the
// modules between split nodes become pipeline stages.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

// Units: the pieces between consecutive split nodes, each with its exit split node (they
// partition the nodes). Every unit has candidate placements: whole on each device it can run on
// and hold (a pipeline stage), or as the start places it (model parallel inside the unit); the
// start is the better one-lane choice of `stages` (up to 10 devices) and `balance`, each with
// 30% of the time. A MILP picks one candidate per unit minimising the busiest resource of the
// round: loads are linear in the choices, tensors between units priced per pair of choices.
// The MILP's choice and the start are realised with delays and replayed; the better is kept.
// One lane. Proves nothing.
Result<SolverOutput> split_for_throughput(const Problem& problem, const SolveContext& ctx);

}  // namespace diviml
