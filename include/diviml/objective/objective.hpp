// The objective seam: what a plan is scored by. An objective is one part with three jobs, and
// solvers ask it questions instead of re-implementing scoring:
//   evaluate  a decision (device per node, order per device) into a timed plan and its value;
//   validate  a plan with explicit times, independently of whatever made it;
//   bound     the optimum from below (proven; never above it).
// `solve()` evaluates, validates and bounds once, at the top; solvers evaluate the decisions
// they compare. Latency (makespan of one inference) is the first implementation; docs/design.md
// says how a second one plugs in.
//
// @code
//   const diviml::Objective& obj = diviml::latency_objective();
//   diviml::Result<diviml::Plan> plan = obj.evaluate(problem, mapping);
//   double value = obj.value(*plan);  // lower is better
// @endcode
#pragma once

#include <string>
#include <vector>

#include "diviml/objective/plan.hpp"

namespace diviml {

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::string name() const = 0;
  // The timed plan of a decision (status kHeuristic, no solver, no bound). Fails naming the
  // node when the decision is incomplete or cannot run.
  virtual Result<Plan> evaluate(const Problem& problem, const Mapping& mapping) const = 0;
  // The plan's value, lower is better, in the unit of its bounds.
  virtual double value(const Plan& plan) const = 0;
  // The first violation of the plan against the problem, as a one-line input error.
  virtual Status validate(const Problem& problem, const Plan& plan) const = 0;
  // Cheap proven bounds (in process, no LP): what sub-solves use to prune and prove.
  virtual double quick_bound(const Problem& problem) const = 0;
  // A costlier proven bound (a fraction of a second) for a part an exact search left unproven;
  // `at_most` is the value of the plan the caller holds (+inf: none): nothing above it is
  // sought. The quick bound by default.
  virtual double tight_bound(const Problem& problem, double /*at_most*/) const { return quick_bound(problem); }
  // The strongest static bound within `lp_time_limit_s` (0: the quick bound only).
  virtual double lower_bound(const Problem& problem, double lp_time_limit_s) const = 0;
  // Whether the objective's cost model covers the problem's platform (a usage error naming
  // what it does not model; solve() and validation ask first).
  virtual Status accepts(const Problem& /*problem*/) const { return {}; }
  // Whether a solver's own bound (its exact search's proof) bounds this objective on this
  // problem. False where the evaluation models what the solvers' searches leave out; the solve
  // then keeps only the objective's own lower_bound.
  virtual bool solver_bounds_hold(const Problem& /*problem*/) const { return true; }
  // Per device, the bytes a plan holds at its peak beyond the resident weights and state of
  // the nodes placed there (live tensors, workspace); empty where the objective does not model
  // memory over time. solve() repairs a plan whose peak overflows a device (docs/cost-model.md).
  // Whether plans are held to memory over time (live tensors), not weights and state only.
  virtual bool memory_over_time() const { return false; }
  virtual std::vector<double> transient_bytes(const Problem& /*problem*/, const Plan& /*plan*/) const { return {}; }
};

// Makespan of one inference (docs/formulation.md).
const Objective& latency_objective();
// The objective of that name, or nullptr.
const Objective* find_objective(const std::string& name);
std::vector<std::string> objective_names();

}  // namespace diviml
