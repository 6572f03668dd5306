#include "diviml/sched/solver.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "diviml/sched/bnb.hpp"
#include "diviml/sched/heuristics.hpp"
#include "diviml/sched/lower_bound.hpp"
#include "diviml/sched/milp_solver.hpp"
#include "diviml/sched/split.hpp"
#include "diviml/sched/replay.hpp"
#include "diviml/sched/validate.hpp"

namespace diviml {

namespace {

// `auto`: the project's default. Runs the baselines and split and, where the exact model is small
// enough to help (at most kAutoMilpPairs unordered node pairs), the MILP with at most
// kAutoMilpSeconds; keeps the plan with the lowest replayed makespan. So the default is never
// worse than the whole model on one device, and proven optimal on small graphs.
constexpr long kAutoMilpPairs = 400;
constexpr double kAutoMilpSeconds = 10.0;
constexpr int kAutoMilpMaxNodes = 2000;
// Most seconds for the LP work bound of one solve.
constexpr double kBoundLpSeconds = 10.0;

class AutoSolver : public Solver {
 public:
  std::string name() const override { return "auto"; }
  std::string description() const override {
    return "best of fastest, heft and split, plus milp (<= 10 s) on graphs with <= 400 unordered pairs";
  }
  Result<SolverOutput> run(const Problem& problem, const SolveOptions& options) const override {
    std::optional<SolverOutput> best;
    double best_us = kInf;
    std::vector<std::string> tried, errors;
    ErrorKind kind = ErrorKind::kInput;  // internal as soon as one solver broke rather than found no plan
    std::vector<std::string> names{"fastest", "heft", "split"};
    // The pair count needs the transitive closure (n^2 / 8 bytes): only on graphs small
    // enough for it, and a MILP over more nodes would not finish in auto's share anyway.
    const long pairs = problem.num_nodes() <= kAutoMilpMaxNodes ? count_unordered_pairs(problem.graph()) : -1;
    if (pairs >= 0 && pairs <= kAutoMilpPairs) names.push_back("milp");
    for (const std::string& name : names) {
      // The portfolio shares the caller's deadline: split gets half of what is left when the
      // MILP comes after it, the MILP the rest (at most kAutoMilpSeconds).
      const double left = options.seconds_left();
      SolveOptions opt = options;
      if (name == "split" && names.back() == "milp") opt = options.within(left / 2);
      if (name == "milp") opt = options.within(std::min(left, kAutoMilpSeconds));
      Result<SolverOutput> out = make_solver(name)->run(problem, opt);
      if (!out) {
        errors.push_back(out.error().message);
        if (out.error().kind != ErrorKind::kInput) kind = ErrorKind::kInternal;
        continue;
      }
      Result<Plan> plan = replay(problem, out->mapping);
      if (!plan) {
        errors.push_back(name + ": " + plan.error().message);
        kind = ErrorKind::kInternal;
        continue;
      }
      tried.push_back(name + " " + std::to_string(plan->makespan_us) + " us");
      // The MILP's bound holds whichever plan wins; keep the best bound seen.
      double bound = std::max(out->bound_us, best ? best->bound_us : 0.0);
      // Status follows from the bound in solve(): a kept plan that meets the MILP's or
      // split's proven bound is reported optimal there.
      if (plan->makespan_us < best_us) {
        best_us = plan->makespan_us;
        best = std::move(*out);
        best->notes.insert(best->notes.begin(), "auto chose " + name);
      }
      best->bound_us = bound;
    }
    if (!best) {
      std::string all;
      for (const auto& e : errors) all += (all.empty() ? "" : "; ") + e;
      return Error{"auto: no solver found a plan (" + all + ")", kind};
    }
    std::string summary = "auto tried:";
    for (const auto& t : tried) summary += " " + t + ";";
    if (pairs > kAutoMilpPairs) summary += " milp skipped (" + std::to_string(pairs) + " unordered pairs)";
    if (pairs < 0) summary += " milp skipped (" + std::to_string(problem.num_nodes()) + " nodes)";
    best->notes.push_back(summary);
    return std::move(*best);
  }
};

}  // namespace

std::vector<std::string> solver_names() { return {"auto", "fastest", "heft", "milp", "split", "bnb"}; }

std::unique_ptr<Solver> make_solver(const std::string& name) {
  if (name == "auto") return std::make_unique<AutoSolver>();
  if (name == "fastest") return std::make_unique<FastestSolver>();
  if (name == "heft") return std::make_unique<HeftSolver>();
  if (name == "milp") return std::make_unique<MilpSolver>();
  if (name == "split") return std::make_unique<SplitSolver>();
  if (name == "bnb") return std::make_unique<BnbSolver>();
  return nullptr;
}

Result<Plan> solve(const std::string& name, const Problem& problem, const SolveOptions& options) {
  std::unique_ptr<Solver> solver = make_solver(name);
  if (!solver) {
    std::string known;
    for (const auto& s : solver_names()) known += (known.empty() ? "" : ", ") + s;
    return usage_error("unknown solver '" + name + "' (known: " + known + ")");
  }
  auto t0 = std::chrono::steady_clock::now();
  // One deadline for everything below: the static bounds first (their LP gets a tenth of the
  // limit at most), then the solver with what is left.
  const SolveOptions opt = options.within(options.time_limit_s);
  const double static_bound = lower_bound_us(problem, std::min(kBoundLpSeconds, 0.1 * opt.seconds_left()));
  Result<SolverOutput> out = solver->run(problem, opt);
  if (!out) return out.error();
  Result<Plan> plan = replay(problem, out->mapping);
  if (!plan) return internal_error(name + " produced an invalid mapping: " + plan.error().message);
  plan->solver = name;
  plan->status = out->status;
  plan->notes = out->notes;
  plan->modules = out->modules;
  double bound = std::max(static_bound, out->bound_us);
  // A bound above a real plan is a bug, not noise: report it instead of hiding it.
  if (bound > plan->makespan_us * (1 + 1e-9) + 1e-9)
    return internal_error(name + ": lower bound " + std::to_string(bound) + " us exceeds the plan's makespan " +
                std::to_string(plan->makespan_us) + " us (internal error)");
  plan->lower_bound_us = std::min(bound, plan->makespan_us);
  // `optimal` is what the bound proves, not what the solver says: a plan that meets a proven
  // bound is optimal whatever found it, and a claim the bound does not back (a solver whose
  // own model saw a better schedule than the replay of its decision) is only `feasible`.
  if (meets_bound(plan->makespan_us, plan->lower_bound_us)) {
    plan->status = PlanStatus::kOptimal;
  } else if (plan->status == PlanStatus::kOptimal) {
    plan->status = PlanStatus::kFeasible;
    plan->notes.push_back(name + ": optimality claim not backed by the bound (gap " +
                          std::to_string(plan->makespan_us - plan->lower_bound_us) + " us); reported feasible");
  }
  if (Status s = validate(problem, *plan); !s)
    return internal_error(name + " produced a plan that fails validation: " + s.error().message);
  // Everything the solve did, bounds, replay and validation included, is in solve_time_s.
  plan->solve_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return plan;
}

}  // namespace diviml
