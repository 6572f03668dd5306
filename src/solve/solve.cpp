#include "diviml/solve/solve.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>

#include "diviml/io/json_io.hpp"
#include "diviml/objective/memory.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/simulate/rebalance.hpp"
#include "diviml/solve/colocate.hpp"
#include "diviml/solvers/heft.hpp"
#include "memory_fit.hpp"

namespace diviml {

namespace {

// A solver whose every mapping honours the problem's colocation groups: the inner solver's
// own where it places groups itself, repaired by colocate() where it does not.
class Colocated : public Solver {
 public:
  explicit Colocated(std::unique_ptr<Solver> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  std::string description() const override { return inner_->description(); }
  bool supports(const Objective& objective) const override { return inner_->supports(objective); }
  Result<SolverOutput> run(const Problem& pr, const SolveContext& ctx) const override {
    const std::string n = name();
    const bool search = is_search(n) || n == "balance";
    // A search keeps a twentieth of the limit (at least polish-time) for the polish below.
    const double polish_s = std::max(ctx.options.polish_time_s, 0.05 * ctx.options.time_limit_s);
    Result<SolverOutput> out = inner_->run(pr, search ? ctx.within(std::max(0.0, ctx.seconds_left() - polish_s)) : ctx);
    if (!out) return out;
    const Objective& obj = *ctx.objective;
    const bool latency = obj.name() == "latency";
    const bool repaired = colocate(pr, obj, out->mapping);
    if (repaired) {
      if (out->status == PlanStatus::kOptimal) out->status = PlanStatus::kFeasible;
      out->notes.push_back(n + ": its plan split colocation groups; each was moved whole to one device");
    }
    // A search's contract is a plan no worse than the baselines, and its time is for searching:
    // a repaired plan is compared with HEFT's (which keeps groups itself), then every search's
    // plan is polished by whole-group moves.
    if (search) {
      if (repaired && latency) {
        Result<Plan> mine = obj.evaluate(pr, out->mapping);
        if (Result<SolverOutput> h = HeftSolver().run(pr, ctx); h) {
          Result<Plan> theirs = obj.evaluate(pr, h->mapping);
          if (theirs && (!mine || ctx.score(*theirs) < ctx.score(*mine))) {
            out->mapping = h->mapping;
            out->modules.clear();
            out->notes.push_back(n + ": HEFT's plan, which keeps the groups itself, was faster and was kept");
          }
        }
      }
      Result<Plan> before = obj.evaluate(pr, out->mapping);
      Mapping polished = polish_groups(pr, ctx, out->mapping, polish_s);
      if (!latency && static_cast<int>(out->mapping.device.size()) == pr.num_nodes()) {
        // Throughput: the runtime assistant's unit moves, on the profiled costs themselves.
        SolveContext sub = ctx.within(polish_s);
        if (Result<RebalanceResult> r = rebalance(pr, pr, out->mapping, sub, 1000); r && r->moves > 0)
          polished = r->mapping;
      }
      Result<Plan> after = obj.evaluate(pr, polished);
      if (before && after && ctx.score(*after) < ctx.score(*before) * (1 - 1e-9)) {
        out->mapping = std::move(polished);
        if (out->status == PlanStatus::kOptimal) out->status = PlanStatus::kFeasible;
        out->notes.push_back(n + ": whole-group moves lowered its " + obj.name() + " from " +
                             std::to_string(obj.value(*before)) + " to " + std::to_string(obj.value(*after)));
      }
    }
    for (Mapping& f : out->fallbacks) colocate(pr, *ctx.objective, f);
    return out;
  }

 private:
  std::unique_ptr<Solver> inner_;
};

// A latency limit no plan found meets: exit 4 with the least latency seen (SolveCache keeps it).
Error above_latency_limit(const std::string& name, const SolveContext& ctx, const std::string& why = "") {
  const double least = ctx.cache ? ctx.cache->least_latency() : kInf;
  char limit[64], seen[64];
  std::snprintf(limit, sizeof limit, "%.6g", ctx.options.max_latency_us);
  std::snprintf(seen, sizeof seen, "%.6g", least);
  return infeasible(name + ": no plan found keeps one input within --max-latency-us " + limit + " us" +
                    (std::isfinite(least) ? std::string("; the least latency found is ") + seen + " us"
                                          : (why.empty() ? "" : " (" + why + ")")));
}

}  // namespace

bool is_search(const std::string& name) { return name == "milp" || name == "bnb" || name == "split" || name == "auto"; }

std::unique_ptr<Solver> top_solver(const std::string& name, const Problem& pr) {
  std::unique_ptr<Solver> s = make_solver(name);
  if (s && pr.num_groups() > 0) s = std::make_unique<Colocated>(std::move(s));
  return s;
}

Result<Plan> solve(const std::string& name, const Problem& problem, const SolveOptions& options,
                   const SolveHooks& hooks) {
  std::unique_ptr<Solver> solver = top_solver(name, problem);
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
  ctx.warm_start = hooks.warm_start;
  const Objective& objective = *ctx.objective;
  if (!solver->supports(objective))
    return usage_error("solver '" + name + "' does not support the " + objective.name() + " objective");
  if (Status s = objective.accepts(problem); !s) return s.error();
  if (std::string short_of = memory_shortfall(problem, objective.memory_over_time()); !short_of.empty())
    return infeasible(name + ": no plan exists: " + short_of);
  // One deadline for everything below: the static bounds first (their LP gets a tenth of the
  // limit at most), then the solver with what is left.
  const double static_bound =
      objective.lower_bound(problem, std::min(options.bound_lp_time_s, 0.1 * ctx.seconds_left()));
  ctx.report(name, "static lower bound", kInf, static_bound);
  ctx.keep_static_bound(problem, static_bound);
  Result<SolverOutput> out = solver->run(problem, ctx);
  if (!out && out.error().kind == ErrorKind::kInfeasible && options.max_latency_us > 0)
    return above_latency_limit(name, ctx, out.error().message);
  if (!out) return out.error();
  Result<Plan> plan = objective.evaluate(problem, out->mapping);
  if (!plan) return internal_error(name + " produced an invalid mapping: " + plan.error().message);
  plan->notes = out->notes;
  plan->modules = out->modules;
  plan->status = out->status;
  {
    std::vector<std::string> memory_notes;
    Result<Plan> fitted = fit_memory(*solver, problem, ctx, std::move(*plan), out->fallbacks, memory_notes);
    if (!fitted) return fitted.error();
    // A plan solved again under a restricted view proves nothing; the first solve's bound
    // (of a relaxation) still holds.
    if (!memory_notes.empty()) fitted->status = PlanStatus::kFeasible;
    fitted->notes.insert(fitted->notes.end(), memory_notes.begin(), memory_notes.end());
    plan = std::move(fitted);
  }
  plan->solver = name;
  const double value = objective.value(*plan);
  // The latency limit is honoured or answered: a plan above it is not returned.
  if (options.max_latency_us > 0 && plan->makespan_us > options.max_latency_us * (1 + 1e-9))
    return above_latency_limit(name, ctx);
  const bool own_bound_holds = objective.solver_bounds_hold(problem);
  const double bound = own_bound_holds ? std::max(static_bound, out->bound_us) : static_bound;
  if (!own_bound_holds && out->bound_us > 0)
    plan->notes.push_back(name +
                          ": a device that runs ops has overlap_comm false: the exact searches let its copies "
                          "overlap compute, so their plans are replayed with the copies occupying it, may be above "
                          "the optimum, and only the static bounds are kept");
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
  if (Status s = plan_fits_files(*plan); !s) return prefixed(name + ": ", s.error());
  // Everything the solve did, bounds, evaluation and validation included, is in solve_time_s.
  plan->solve_time_s = std::chrono::duration<double>(SolveContext::Clock::now() - t0).count();
  ctx.report(name, "done", value, plan->lower_bound_us);
  return plan;
}

}  // namespace diviml
