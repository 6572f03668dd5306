#include "diviml/solvers/milp.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "diviml/milp/latency_milp.hpp"
#include "diviml/milp/throughput_milp.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/solvers/balance.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/bnb.hpp"
#include "diviml/solvers/moves.hpp"
#include "diviml/solvers/streams.hpp"

namespace diviml {

// Below this many seconds before the deadline the MILP is not started.
constexpr double kMinMilpSeconds = 0.02;
// Horizon over static bound, and over the smallest positive cost, beyond which the model is
// numerically wide and CBC is not trusted with it (big-M numerics).
constexpr double kMaxHorizonRatio = 1e5;
constexpr double kMaxNumericRange = 1e6;

Result<SolverOutput> MilpSolver::run(const Problem& pr, const SolveContext& ctx) const {
  if (ctx.objective->name() == "throughput") return run_throughput(pr, ctx);
  const SolveOptions& o = ctx.options;
  // Incumbent: the better baseline that exists (HEFT or fastest).
  std::optional<Plan> inc;
  std::string inc_name = "baseline";
  if (std::optional<BaselinePlan> base = best_baseline(pr, ctx)) {
    if (auto plan = replay(pr, base->output.mapping)) {
      inc = std::move(*plan);
      inc_name = base->solver;
    }
  }
  // The caller's start (split's search plan) where it is better and keeps every device's weights
  // within its capacity (the model's memory rows; a start that breaks them would give a
  // horizon below the optimum).
  if (ctx.warm_start && ctx.warm_start->device.size() == static_cast<size_t>(pr.num_nodes())) {
    bool fits = true;
    for (int v = 0; v < pr.num_nodes() && fits; ++v) {
      const int d = ctx.warm_start->device[v];
      fits = d >= 0 && d < pr.num_devices() && pr.can_run(v, d);
    }
    if (fits) {
      const std::vector<double> bytes = resident_bytes(pr, ctx.warm_start->device);
      for (int d = 0; d < pr.num_devices() && fits; ++d) fits = bytes[d] <= pr.capacity_bytes(d);
    }
    if (fits)
      if (auto plan = replay(pr, *ctx.warm_start); plan && (!inc || plan->makespan_us < inc->makespan_us)) {
        inc = std::move(*plan);
        inc_name = "warm start";
      }
  }
  // The local search tightens the incumbent, and with it the horizon H that every big-M of
  // the model is made of: a baseline paying a huge transfer (HEFT at 4e9 us where 17 us is
  // optimal) made M so large that CBC's cuts went wrong and its bound rose above the optimum.
  if (inc) {
    Mapping better = improve_by_moves(pr, mapping_of(pr, *inc), std::min(o.polish_time_s, 0.1 * ctx.seconds_left()),
                                      nullptr, ctx.static_bound(pr));
    if (auto p = replay(pr, better); p && p->makespan_us < inc->makespan_us) {
      inc = std::move(*p);
      inc_name += " + moves";
    }
  }
  SolverOutput out;
  // Too little time left to build and start a model: the incumbent is the answer.
  if (inc && ctx.seconds_left() < kMinMilpSeconds) {
    out.mapping = mapping_of(pr, *inc);
    out.status = PlanStatus::kFeasible;
    out.notes.push_back("milp: no time left for the model at the deadline; kept the " + inc_name + " start");
    return out;
  }
  // Numerically wide models: every big-M is about the horizon H, and next to costs more than
  // kMaxNumericRange times smaller CBC's cuts and tolerances have given wrong answers (an
  // "optimal" 3.5x above the optimum, a bound above it; found by fuzz_solve with 1e12-byte
  // transfers). There CBC is not run: the exact branch and bound decides, from the incumbent.
  if (inc) {
    double smallest = kInf;
    for (int v = 0; v < pr.num_nodes(); ++v)
      for (int d = 0; d < pr.num_devices(); ++d)
        if (pr.can_run(v, d) && pr.cost_us(v, d) > 0) smallest = std::min(smallest, pr.cost_us(v, d));
    const double static_bound = std::max(critical_path_bound_us(pr), average_work_bound_us(pr));
    const double H = inc->makespan_us;
    if ((std::isfinite(smallest) && H > kMaxNumericRange * smallest) ||
        H > kMaxHorizonRatio * std::max(static_bound, 1e-3)) {
      const Mapping start = mapping_of(pr, *inc);
      BnbResult b = branch_and_bound(pr, &start, ctx.seconds_left(), 1L << 62);
      out.mapping = start;
      out.status = PlanStatus::kFeasible;
      if (std::isfinite(b.makespan_us) && b.makespan_us <= inc->makespan_us) {
        out.mapping = std::move(b.mapping);
        if (b.proven) out.status = PlanStatus::kOptimal, out.bound_us = b.makespan_us * (1 - 1e-12);
      }
      out.notes.push_back("milp: the model would be numerically wide (horizon " + std::to_string(H) +
                          " us against costs from " + std::to_string(smallest) +
                          " us): CBC's big-M numerics are not trusted there, the exact branch and bound decided (" +
                          (b.proven ? "search complete" : "stopped at the limit") + ")");
      return out;
    }
  }
  // A model that takes more than half of the time left to build leaves CBC too little to
  // solve it: stop building then (and free the memory it took) rather than at the deadline.
  const auto build_by = SolveContext::Clock::now() + std::chrono::duration_cast<SolveContext::Clock::duration>(
                                                         std::chrono::duration<double>(0.5 * ctx.seconds_left()));
  // Identical devices: the model orders each class (--symmetry), and the start is moved into
  // that order (the same plan with twins swapped, so the same makespan).
  const auto rule = static_cast<SymmetryRule>(o.symmetry);
  if (inc && rule != SymmetryRule::kNone) {
    std::vector<int> device(pr.num_nodes());
    for (const Placement& p : inc->placements) device[p.node] = p.device;
    const std::vector<int> perm = canonical_permutation(pr, device, rule);
    for (Placement& p : inc->placements) p.device = perm[p.device];
    for (Transfer& t : inc->transfers) t.from = perm[t.from], t.to = perm[t.to];
  }
  LatencyMilp L = build_latency_milp(pr, inc ? &*inc : nullptr, std::min(build_by, ctx.deadline), rule);
  if (L.incomplete || (inc && ctx.seconds_left() < kMinMilpSeconds)) {
    if (!inc) return internal_error("milp: the time limit came while building the model, and no baseline plan exists");
    out.mapping = mapping_of(pr, *inc);
    out.status = PlanStatus::kFeasible;
    out.notes.push_back("milp: the time limit came while building the model (" + std::to_string(L.model.num_rows()) +
                        " rows so far); kept the " + inc_name + " start");
    return out;
  }
  MilpOptions mo;
  // 10% of what is left stays for stopping the child, freeing the model and replaying.
  auto cbc_seconds = [&] { return std::max(0.01, 0.9 * ctx.seconds_left()); };
  mo.time_limit_s = cbc_seconds();
  mo.threads = o.threads;
  mo.seed = o.seed;
  mo.verbose = o.verbose;
  auto res = backend_->solve(L.model, mo);
  // CBC 2.10 has crashed in CLP's presolve while completing a MIP start (seen on 6-7 node
  // models), and its preprocessing has called feasible models infeasible: then try once more
  // without either in the time that is left (the incumbent stays the fallback), and say so.
  const bool suspect = !res || (res->status == MilpResult::Status::kInfeasible && inc);
  if (suspect && ctx.seconds_left() >= kMinMilpSeconds) {
    out.notes.push_back(
        (res ? std::string("cbc: preprocessing declared a feasible model infeasible") : res.error().message) +
        "; solved again without preprocessing and MIP start");
    mo.preprocess = false;
    L.model.start.clear();
    mo.time_limit_s = cbc_seconds();
    res = backend_->solve(L.model, mo);
  }
  if (res && res->status == MilpResult::Status::kInfeasible && inc) {
    out.mapping = mapping_of(pr, *inc);
    out.status = PlanStatus::kFeasible;
    out.notes.push_back("cbc called the model infeasible although " + inc_name + " found a plan; kept that plan");
    return out;
  }
  if (!res) {
    // A backend failure (e.g. the solver process crashed) must not lose the plan we have.
    if (!inc) return internal_error("milp: " + res.error().message);
    out.mapping = mapping_of(pr, *inc);
    out.status = PlanStatus::kFeasible;
    out.notes.push_back("milp kept the " + inc_name + " start: " + res.error().message);
    return out;
  }
  std::string size = std::to_string(L.model.num_vars()) + " columns, " + std::to_string(L.model.num_rows()) +
                     " rows, " + std::to_string(L.order.size()) + " order pairs";
  if (res->status == MilpResult::Status::kInfeasible) {  // with an incumbent, handled above
    return infeasible(
        "milp: no plan exists: the weights cannot be placed within the devices' memory_bytes "
        "(or nodes lack a device they can run on and reach)");
  }
  bool have_milp = !res->x.empty();
  std::optional<Plan> milp_plan;
  if (have_milp) {
    Mapping mp = mapping_from_solution(pr, L, res->x);
    auto p = replay(pr, mp);
    if (!p) return internal_error("milp: solution does not replay: " + p.error().message);
    milp_plan = std::move(*p);
    out.mapping = std::move(mp);
  }
  if (!milp_plan || (inc && inc->makespan_us < milp_plan->makespan_us)) {
    if (!inc)
      return internal_error("milp: no feasible plan found within the time limit of " + std::to_string(o.time_limit_s) +
                            " s (" + size + ")");
    out.mapping = mapping_of(pr, *inc);
    out.notes.push_back("milp kept the " + inc_name + " start");
  }
  out.status = res->status == MilpResult::Status::kOptimal ? PlanStatus::kOptimal : PlanStatus::kFeasible;
  // CBC's bound carries its tolerances; shave a hair so it stays a bound.
  if (std::isfinite(res->best_bound) && res->best_bound > 0)
    out.bound_us = res->best_bound - 1e-7 * std::max(1.0, res->best_bound);
  out.notes.push_back(std::string("cbc ") +
                      (res->status == MilpResult::Status::kOptimal    ? "optimal"
                       : res->status == MilpResult::Status::kFeasible ? "time limit with a solution"
                                                                      : "time limit without a solution") +
                      ", " + std::to_string(res->nodes) + " nodes, " + std::to_string(res->seconds) + " s; " + size +
                      (inc ? "; start " + inc_name + " " + std::to_string(inc->makespan_us) + " us" : "; no start"));
  return out;
}

Result<SolverOutput> MilpSolver::run_throughput(const Problem& pr, const SolveContext& ctx) const {
  constexpr int kMaxLanes = 4;
  constexpr double kMaxColumns = 2e5;  // larger models are not built
  const int n = pr.num_nodes(), k = pr.num_devices();
  const double total = ctx.seconds_left();
  auto start = shared_run(BalanceSolver(), pr, ctx.within(0.25 * total));
  StreamBest<Realized> best;
  std::vector<std::string> notes;
  std::string why;
  int start_lanes = 0;
  if (start) {
    start_lanes = static_cast<int>(start->mapping.device.size()) / n;
    if (auto r = realize_pipeline(pr, ctx, start->mapping.device, &why)) {
      notes.push_back("milp: start balance, " + std::to_string(start_lanes) + " lane(s), period " +
                      std::to_string(r->score) + " us");
      best.offer(r->rank, std::move(*r));
    }
  }
  const int max_lanes = std::min(kMaxLanes, std::max(1, k));
  for (int lanes = 1; lanes <= max_lanes; ++lanes) {
    if (ctx.seconds_left() < kMinMilpSeconds) {
      notes.push_back("milp: the time limit came before " + std::to_string(lanes) + " lane(s)");
      break;
    }
    if (static_cast<double>(lanes) * n * k * k > kMaxColumns) {
      notes.push_back("milp: " + std::to_string(lanes) + " lane(s) not built (about " +
                      std::to_string(static_cast<long>(static_cast<double>(lanes) * n * k * k)) + " columns)");
      break;
    }
    const std::vector<int>* mip_start = start && start_lanes == lanes ? &start->mapping.device : nullptr;
    ThroughputMilp T = build_throughput_milp(pr, lanes, mip_start);
    MilpOptions mo;
    mo.time_limit_s = std::max(0.01, 0.9 * ctx.seconds_left() / (max_lanes - lanes + 1));
    mo.threads = ctx.options.threads;
    mo.seed = ctx.options.seed;
    mo.verbose = ctx.options.verbose;
    auto res = backend_->solve(T.model, mo);
    if (!res) {
      notes.push_back("milp: " + std::to_string(lanes) + " lane(s): " + res.error().message);
      continue;
    }
    std::string said = "milp: " + std::to_string(lanes) + " lane(s), " + std::to_string(T.model.num_vars()) +
                       " columns: cbc " +
                       (res->status == MilpResult::Status::kOptimal      ? "optimal"
                        : res->status == MilpResult::Status::kFeasible   ? "time limit with a solution"
                        : res->status == MilpResult::Status::kInfeasible ? "infeasible"
                                                                         : "time limit without a solution");
    if (std::isfinite(res->objective)) said += ", busiest load " + std::to_string(res->objective) + " us per input";
    if (std::isfinite(res->best_bound) && res->status != MilpResult::Status::kInfeasible)
      said += ", bound " + std::to_string(res->best_bound) + " us for " + std::to_string(lanes) + "-lane plans";
    if (!res->x.empty()) {
      auto r = realize_pipeline(pr, ctx, devices_from_solution(pr, T, res->x), &why);
      if (r) {
        said += ", replayed period " + std::to_string(r->score) + " us";
        best.offer(r->rank, std::move(*r));
      }
    }
    notes.push_back(said);
  }
  if (best.empty())
    return infeasible("milp: no plan found for the throughput objective" + (why.empty() ? "" : " (" + why + ")"));
  SolverOutput out = best.take().output;
  out.status = PlanStatus::kFeasible;
  out.notes = std::move(notes);
  return out;
}

}  // namespace diviml
