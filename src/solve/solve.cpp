#include "diviml/solve/solve.hpp"

#include <algorithm>
#include <chrono>

#include "diviml/objective/memory.hpp"

namespace diviml {

Result<Plan> solve(const std::string& name, const Problem& problem, const SolveOptions& options,
                   const SolveHooks& hooks) {
  std::unique_ptr<Solver> solver = make_solver(name);
  if (!solver) {
    std::string known;
    for (const auto& s : solver_names()) known += (known.empty() ? "" : ", ") + s;
    return usage_error("unknown solver '" + name + "' (known: " + known + ")");
  }
  if (Status s = check_options(options); !s) return s.error();
  const auto t0 = SolveContext::Clock::now();
  SolveContext ctx = SolveContext::start(options);
  ctx.cancel = hooks.cancel;
  ctx.progress = hooks.progress;
  ctx.cache = std::make_shared<SolveCache>(&problem);
  if (hooks.objective) ctx.objective = hooks.objective;
  const Objective& objective = *ctx.objective;
  if (!solver->supports(objective))
    return usage_error("solver '" + name + "' does not support the " + objective.name() + " objective");
  if (Status s = objective.accepts(problem); !s) return s.error();
  if (std::string short_of = memory_shortfall(problem); !short_of.empty())
    return infeasible(name + ": no plan exists: " + short_of);
  // One deadline for everything below: the static bounds first (their LP gets a tenth of the
  // limit at most), then the solver with what is left.
  const double static_bound =
      objective.lower_bound(problem, std::min(options.bound_lp_time_s, 0.1 * ctx.seconds_left()));
  ctx.report(name, "static lower bound", kInf, static_bound);
  Result<SolverOutput> out = solver->run(problem, ctx);
  if (!out) return out.error();
  Result<Plan> plan = objective.evaluate(problem, out->mapping);
  if (!plan) return internal_error(name + " produced an invalid mapping: " + plan.error().message);
  plan->solver = name;
  plan->status = out->status;
  plan->notes = out->notes;
  plan->modules = out->modules;
  const double value = objective.value(*plan);
  // The latency limit is honoured or answered: a plan above it is not returned.
  if (options.max_latency_us > 0 && plan->makespan_us > options.max_latency_us * (1 + 1e-9))
    return infeasible(name + ": the best plan found takes " + std::to_string(plan->makespan_us) +
                      " us for one input, above --max-latency-us " + std::to_string(options.max_latency_us) + " us");
  const double bound = objective.solver_bounds_hold(problem) ? std::max(static_bound, out->bound_us) : static_bound;
  // A bound above a real plan is a bug, not noise: report it instead of hiding it.
  if (bound > value * (1 + 1e-9) + 1e-9)
    return internal_error(name + ": lower bound " + std::to_string(bound) + " exceeds the plan's " + objective.name() +
                          " " + std::to_string(value) + " (internal error)");
  plan->lower_bound_us = std::min(bound, value);
  // `optimal` is what the bound proves, not what the solver says: a plan that meets a proven
  // bound is optimal whatever found it, and a claim the bound does not back (a solver whose
  // own model saw a better schedule than the evaluation of its decision) is only `feasible`.
  if (meets_bound(value, plan->lower_bound_us)) {
    plan->status = PlanStatus::kOptimal;
  } else if (plan->status == PlanStatus::kOptimal) {
    plan->status = PlanStatus::kFeasible;
    plan->notes.push_back(name + ": optimality claim not backed by the bound (gap " +
                          std::to_string(value - plan->lower_bound_us) + "); reported feasible");
  }
  if (Status s = objective.validate(problem, *plan); !s)
    return internal_error(name + " produced a plan that fails validation: " + s.error().message);
  // Everything the solve did, bounds, evaluation and validation included, is in solve_time_s.
  plan->solve_time_s = std::chrono::duration<double>(SolveContext::Clock::now() - t0).count();
  ctx.report(name, "done", value, plan->lower_bound_us);
  return plan;
}

}  // namespace diviml
