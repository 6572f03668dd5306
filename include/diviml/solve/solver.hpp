// The solver interface and registry. A solver decides a Mapping (device per node, order per
// device) for a problem under a context; it may call other solvers' internals on sub-problem
// views with a narrower context. It does not replay, validate or bound its final answer:
// `solve()` (diviml/solve/solve.hpp) does that once, at the top.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "diviml/objective/plan.hpp"
#include "diviml/solve/context.hpp"

namespace diviml {

// What a solver returns before evaluation: its decision, what it proved, and a bound if any.
struct SolverOutput {
  Mapping mapping;
  PlanStatus status = PlanStatus::kHeuristic;
  double bound_us = 0;  // a proven lower bound the solver found (0 = none)
  std::vector<std::string> notes;
  std::vector<ModuleSummary> modules;
  // Other decisions the solver found, that solve() may keep instead when the first overflows
  // memory over time and its repair ends slower (auto: its best candidate that fits).
  std::vector<Mapping> fallbacks = {};
};

class Solver {
 public:
  virtual ~Solver() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  // The objectives whose plans it optimises (all solvers today: latency).
  virtual bool supports(const Objective& objective) const { return objective.name() == "latency"; }
  // Errors: kInfeasible when the problem has no plan, kInternal when the solver broke.
  virtual Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const = 0;
};

// `solver`'s result for this solve, run once within `ctx` and shared through the solve's cache
// (keyed by the solver's name and the objective): `auto` runs replicas, stages and balance, and
// the searches that start from their plans (balance from replicas and stages; split and milp
// from balance) take them from the cache instead of running them again. Without a cache (a
// sub-problem) it runs every time.
Result<SolverOutput> shared_run(const Solver& solver, const Problem& problem, const SolveContext& ctx);

// Registered solver names, in the order `diviml plan --help` lists them.
std::vector<std::string> solver_names();
// nullptr for an unknown name.
std::unique_ptr<Solver> make_solver(const std::string& name);

}  // namespace diviml
