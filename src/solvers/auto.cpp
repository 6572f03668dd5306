#include "diviml/solvers/auto.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "diviml/milp/latency_milp.hpp"
#include "diviml/objective/memory.hpp"
#include "diviml/solve/colocate.hpp"
#include "diviml/solvers/balance.hpp"
#include "diviml/solvers/comm_greedy.hpp"
#include "diviml/solvers/fastest.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/lean.hpp"
#include "diviml/solvers/metis.hpp"
#include "diviml/solvers/milp.hpp"
#include "diviml/solvers/replicas.hpp"
#include "diviml/solvers/split.hpp"
#include "diviml/solvers/stages.hpp"
#include "diviml/solvers/streams.hpp"

namespace diviml {

Result<SolverOutput> AutoSolver::run(const Problem& problem, const SolveContext& ctx) const {
  const SolveOptions& o = ctx.options;
  const Objective& objective = *ctx.objective;
  std::optional<SolverOutput> best;
  double best_value = kInf;
  bool best_fits = false;       // the kept plan fits memory over time
  double fitting_value = kInf;  // the best plan that fits memory over time
  std::optional<Mapping> fitting;
  std::vector<std::string> tried, errors;
  // Throughput: the plans by the ranking rule (streams.hpp: memory, period, then latency).
  const bool stream = objective.name() == "throughput";
  StreamBest<std::pair<SolverOutput, std::string>> streams;
  double least_period = kInf;  // whatever its latency (the lean trim under a latency limit starts there too)
  std::vector<int> least_choice;
  // Infeasible only when every solver found the problem has no plan; internal as soon as one broke.
  ErrorKind kind = ErrorKind::kInfeasible;
  const FastestSolver fastest;
  const HeftSolver heft;
  const SplitSolver split;
  const MilpSolver milp;
  const ReplicasSolver replicas;
  const StagesSolver stages;
  const BalanceSolver balance;
  const CommGreedySolver comm_greedy;
  const MetisSolver metis;
  // The portfolio: the solvers that support the objective.
  std::vector<const Solver*> portfolio;
  for (const Solver* s :
       {static_cast<const Solver*>(&fastest), static_cast<const Solver*>(&heft), static_cast<const Solver*>(&split),
        static_cast<const Solver*>(&replicas), static_cast<const Solver*>(&stages)})
    if (s->supports(objective)) portfolio.push_back(s);
  // The pair count needs the transitive closure (n^2 / 8 bytes): only on graphs small enough
  // for it, and a MILP over more nodes would not finish in auto's share anyway.
  long pairs = -2;  // -2: the MILP does not support the objective
  if (objective.name() == "throughput") {
    // The baselines, then the searches: balance (three quarters of what is left: on 29
    // devices it was still improving at half, DenseNet-121 on six-srv 127.3 us at 10 s against
    // 107.0 with three quarters), split (half of the rest: modules as stages from balance's
    // plan), and the period MILP, which sizes itself
    // (lanes x nodes x devices^2 columns), in the time left; split and the MILP take balance's
    // plan from the solve's cache instead of running it again.
    portfolio = {&fastest, &replicas, &stages, &balance, &split, &milp};
    // A training step (colocation groups): the partitioners too (milliseconds), first.
    if (problem.num_groups() > 0) portfolio.insert(portfolio.begin() + 1, {&comm_greedy, &metis});
  } else if (milp.supports(objective)) {
    if (problem.num_groups() > 0) portfolio.insert(portfolio.begin() + 2, {&comm_greedy, &metis});
    pairs = problem.num_nodes() <= o.auto_milp_max_nodes ? count_unordered_pairs(problem.graph()) : -1;
    if (pairs >= 0 && pairs <= o.auto_milp_pairs) portfolio.push_back(&milp);
  }
  // Throughput: the portfolio leaves a share of the time for the latency trim of its pick (more
  // under a latency limit, where the trim is what trades period for latency).
  const double lean_s = stream ? (o.max_latency_us > 0 ? 0.4 : 0.15) * ctx.seconds_left() : 0.0;
  const SolveContext pctx = ctx.within(ctx.seconds_left() - lean_s);
  for (const Solver* solver : portfolio) {
    // The portfolio shares the caller's deadline: split gets half of what is left when the
    // MILP comes after it, the MILP the rest (at most auto-milp-time).
    const double left = pctx.seconds_left();
    SolveContext sub = pctx;
    if (solver == &split && portfolio.back() == &milp) sub = pctx.within(left / 2);
    if (solver == &balance) sub = pctx.within(left * 0.75);
    // The MILP starts from its own baselines, not from the best plan so far (split's): from
    // split's start CBC found worse plans (RWNN WS N32 S1 s1: 365.9 against 359.3 us), and
    // auto keeps the best plan of its portfolio anyway.
    if (solver == &milp && objective.name() != "throughput") sub = pctx.within(std::min(left, o.auto_milp_time_s));
    const std::string name = solver->name();
    if ((best || !streams.empty()) && pctx.stopped()) {  // the limit came: the plan in hand is the answer
      tried.push_back(name + " not run (time limit)");
      continue;
    }
    if (best && best_fits && meets_bound(best_value, best->bound_us)) {  // proven: nothing can beat it
      tried.push_back(name + " not run (the best plan is proven optimal)");
      continue;
    }
    const bool shared = solver == &balance || solver == &replicas || solver == &stages;
    Result<SolverOutput> out = shared ? shared_run(*solver, problem, sub) : solver->run(problem, sub);
    if (!out) {
      errors.push_back(out.error().message);
      if (out.error().kind != ErrorKind::kInfeasible) kind = ErrorKind::kInternal;
      continue;
    }
    // Candidates are compared as solve() would return them: with their colocation groups whole.
    if (colocate(problem, objective, out->mapping) && out->status == PlanStatus::kOptimal)
      out->status = PlanStatus::kFeasible;
    Result<Plan> plan = objective.evaluate(problem, out->mapping);
    if (!plan) {
      errors.push_back(name + ": " + plan.error().message);
      kind = ErrorKind::kInternal;
      continue;
    }
    const double value = ctx.score(*plan);  // +inf above --max-latency-us
    if (stream) {
      const StreamRank rank = stream_rank(problem, ctx, *plan);
      tried.push_back(name + " " + std::to_string(value) + (rank.fits ? "" : " (overflows memory)"));
      if (plan->period_us < least_period) least_period = plan->period_us, least_choice = out->mapping.device;
      if (!std::isfinite(value)) continue;
      streams.offer(rank, {std::move(*out), name});
      if (!streams.empty() && streams.best()->second == name)
        pctx.report("auto", name + " is the best so far", streams.least_period(), 0);
      continue;
    }
    if (!std::isfinite(value)) {
      errors.push_back(name + ": one input takes " + std::to_string(plan->makespan_us) + " us, above --max-latency-us");
      continue;
    }
    // Latency: a plan whose live tensors overflow a device is repaired by solve(), maybe into
    // a slower one; the best plan that fits is kept aside for that comparison.
    const bool fits = objective.name() != "latency" || fits_memory(problem, *plan);
    tried.push_back(name + " " + std::to_string(value) + (fits ? "" : " (overflows over time)"));
    // The MILP's bound holds whichever plan wins; keep the best bound seen.
    const double bound = std::max(out->bound_us, best ? best->bound_us : 0.0);
    // Status follows from the bound in solve(): a kept plan that meets the MILP's or split's
    // proven bound is reported optimal there.
    if (fits && value < fitting_value) fitting_value = value, fitting = out->mapping;
    if (value < best_value) {
      best_value = value;
      best_fits = fits;
      best = std::move(*out);
      best->notes.insert(best->notes.begin(), "auto chose " + name);
      pctx.report("auto", name + " is the best so far", value, bound);
    }
    best->bound_us = bound;
  }
  if (stream && (o.max_latency_us > 0 || (!streams.empty() && !streams.best_rank()->fits))) {
    // The plan of the least latency, as a one-lane stream paced so that it meets the latency
    // limit and memory (one input at a time at most): the end of the trade-off, and what is
    // left when every period search breaks the limit. The caller's decision when it gave one
    // (compare's trade-off passes the latency plan), else split's latency plan.
    std::optional<Mapping> lat;
    if (ctx.warm_start && static_cast<int>(ctx.warm_start->device.size()) == problem.num_nodes()) {
      lat = *ctx.warm_start;
    } else if (!ctx.stopped()) {
      SolveContext sub = ctx.within(0.25 * ctx.seconds_left());
      sub.objective = &latency_objective();
      sub.cache = nullptr;
      if (auto s = split.run(problem, sub)) lat = std::move(s->mapping);
    }
    if (lat) {
      lat->delay.clear();
      if (auto m = paced_within(problem, ctx, std::move(*lat)))
        if (auto plan = objective.evaluate(problem, *m)) {
          const StreamRank rank = stream_rank(problem, ctx, *plan);
          tried.push_back("the latency plan paced at " + std::to_string(plan->period_us) + " us (latency " +
                          std::to_string(plan->latency_us) + ")");
          SolverOutput paced;
          paced.mapping = std::move(*m);
          paced.notes.push_back("auto: the latency plan as a stream, one input every " +
                                std::to_string(plan->period_us) + " us");
          streams.offer(rank, {std::move(paced), "the latency plan"});
        }
    }
  }
  if (stream && !least_choice.empty() && !ctx.stopped()) {
    // Latency, the second objective: choices near the pick with fewer crossings, within the
    // period's tolerance (and under --max-latency-us, priced crossings, also from the least
    // period found when no plan met the limit); the rule picks again.
    const bool picked = !streams.empty();
    const std::string from = picked ? streams.best()->second : "the least period";
    const std::vector<int> device = picked ? streams.best()->first.mapping.device : least_choice;
    const double lanes = static_cast<double>(device.size()) / problem.num_nodes();
    const double cap = picked ? streams.least_period() * (1 + kPeriodTolerance) * lanes : kInf;
    for (Realized& r : lean_choices(problem, ctx, device, cap, &least_choice)) {
      tried.push_back("lean from " + from + " " + std::to_string(r.rank.period) + " (latency " +
                      std::to_string(r.rank.latency) + ")");
      streams.offer(r.rank, {std::move(r.output), from + " and lean"});
    }
  }
  if (stream && !streams.empty()) {
    auto [chosen, name] = streams.take();
    best = std::move(chosen);
    best->notes.insert(best->notes.begin(), "auto chose " + name);
    best_fits = true;
  }
  if (!best) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "; ") + e;
    return Error{"auto: no solver found a plan (" + all + ")", kind};
  }
  // The best plan that fits memory over time, for solve() to weigh against the repair of the
  // best one when that one does not fit.
  if (!best_fits && fitting) best->fallbacks.push_back(std::move(*fitting));
  std::string summary = "auto tried:";
  for (const auto& t : tried) summary += " " + t + ";";
  if (pairs > o.auto_milp_pairs) summary += " milp skipped (" + std::to_string(pairs) + " unordered pairs)";
  if (pairs == -1) summary += " milp skipped (" + std::to_string(problem.num_nodes()) + " nodes)";
  best->notes.push_back(summary);
  return std::move(*best);
}

}  // namespace diviml
