#include "diviml/sched/solver.hpp"

#include <algorithm>
#include <chrono>

#include "diviml/sched/heuristics.hpp"
#include "diviml/sched/lower_bound.hpp"
#include "diviml/sched/replay.hpp"
#include "diviml/sched/validate.hpp"

namespace diviml {

std::vector<std::string> solver_names() { return {"fastest", "heft"}; }

std::unique_ptr<Solver> make_solver(const std::string& name) {
  if (name == "fastest") return std::make_unique<FastestSolver>();
  if (name == "heft") return std::make_unique<HeftSolver>();
  return nullptr;
}

Result<Plan> solve(const std::string& name, const Problem& problem, const SolveOptions& options) {
  std::unique_ptr<Solver> solver = make_solver(name);
  if (!solver) {
    std::string known;
    for (const auto& s : solver_names()) known += (known.empty() ? "" : ", ") + s;
    return fail("unknown solver '" + name + "' (known: " + known + ")");
  }
  auto t0 = std::chrono::steady_clock::now();
  Result<SolverOutput> out = solver->run(problem, options);
  if (!out) return out.error();
  Result<Plan> plan = replay(problem, out->mapping);
  if (!plan) return fail(name + " produced an invalid mapping: " + plan.error().message);
  plan->solve_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  plan->solver = name;
  plan->status = out->status;
  plan->notes = out->notes;
  double bound = std::max(lower_bound_us(problem), out->bound_us);
  // A bound above a real plan is a bug, not noise: report it instead of hiding it.
  if (bound > plan->makespan_us * (1 + 1e-9) + 1e-9)
    return fail(name + ": lower bound " + std::to_string(bound) + " us exceeds the plan's makespan " +
                std::to_string(plan->makespan_us) + " us (internal error)");
  plan->lower_bound_us = std::min(bound, plan->makespan_us);
  // A plan that meets a proven bound is optimal, whatever method found it.
  if (plan->makespan_us <= plan->lower_bound_us * (1 + 1e-9)) plan->status = PlanStatus::kOptimal;
  if (Status s = validate(problem, *plan); !s)
    return fail(name + " produced a plan that fails validation: " + s.error().message);
  return plan;
}

}  // namespace diviml
