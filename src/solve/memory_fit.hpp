// Internal to src/solve/: the parts of solve() that other files of the folder share.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "diviml/solve/solver.hpp"

namespace diviml {

// The searching solvers: their contract is a plan no worse than the baselines (the memory
// repair and the colocation repair compare their repaired plans with the baselines').
bool is_search(const std::string& name);

// The named solver for a top-level problem: wrapped to honour colocation groups when it has any.
std::unique_ptr<Solver> top_solver(const std::string& name, const Problem& problem);

// The solvers pack weights and state only: a relaxation of memory over time, so their bounds
// hold. A plan whose live tensors overflow a device is repaired: the solver again under reserves,
// then with every tensor charged, then last resorts (a pipeline of segments, a search over
// assignments; for throughput also the latency plan paced one input at a time); for the searching
// solvers the baselines' repairs beside it, the fastest kept. `first` is returned when it fits.
// Notes say what was done; an infeasible error when nothing fits (no proof that no plan exists).
Result<Plan> fit_memory(const Solver& solver, const Problem& problem, const SolveContext& ctx, Plan first,
                        const std::vector<Mapping>& fallbacks, std::vector<std::string>& notes);

}  // namespace diviml
