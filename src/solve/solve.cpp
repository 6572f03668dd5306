#include "diviml/solve/solve.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>

#include "diviml/objective/memory.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/simulate/rebalance.hpp"
#include "diviml/solve/colocate.hpp"
#include "diviml/solvers/heft.hpp"

namespace diviml {

namespace {

// The searching solvers: their contract is a plan no worse than the baselines (the memory
// repair and the colocation repair compare their repaired plans with HEFT's).
bool is_search(const std::string& name) { return name == "milp" || name == "bnb" || name == "split" || name == "auto"; }

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

// The named solver for a top-level problem: wrapped to honour colocation groups when it has any.
std::unique_ptr<Solver> top_solver(const std::string& name, const Problem& pr) {
  std::unique_ptr<Solver> s = make_solver(name);
  if (s && pr.num_groups() > 0) s = std::make_unique<Colocated>(std::move(s));
  return s;
}

// Per device, bytes above its capacity at the plan's peak; empty when it fits or the objective
// does not model memory over time.
std::vector<double> overflow(const Objective& objective, const Problem& pr, const Plan& plan,
                             std::vector<double>& transient) {
  const int k = pr.num_devices();
  bool limited = false;
  for (int d = 0; d < k; ++d) limited |= std::isfinite(pr.capacity_bytes(d));
  transient = limited ? objective.transient_bytes(pr, plan) : std::vector<double>{};
  if (transient.empty()) return {};
  std::vector<double> resident(k, 0.0), over(k, 0.0);
  for (const Placement& p : plan.placements) resident[p.device] += pr.resident_bytes(p.node);
  bool any = false;
  for (int d = 0; d < k; ++d) {
    over[d] = std::max(0.0, resident[d] + transient[d] - pr.capacity_bytes(d));
    any |= over[d] > 1e-6 * std::max(1.0, pr.capacity_bytes(d));
  }
  return any ? over : std::vector<double>{};
}

// What every node could make its device hold besides its weights: its workspace, model input,
// output and every edge it reads. Charged as resident, a plan cannot overflow (memory.hpp).
std::vector<double> every_tensor_charged(const Problem& pr) {
  const Graph& g = pr.graph();
  std::vector<double> extra(pr.num_nodes(), 0.0);
  for (int v = 0; v < pr.num_nodes(); ++v) {
    const Node& node = g.nodes[v];
    double out = node.output_bytes.value_or(0.0);
    for (int e : g.out_edges(v))
      if (!node.output_bytes) out = std::max(out, g.edges[e].bytes);
    extra[v] = node.workspace_bytes + node.input_bytes + out;
    for (int e : g.in_edges(v)) extra[v] += g.edges[e].bytes;
  }
  return extra;
}

// Device-first topological order: a node right after the last of its inputs where possible
// (depth first), so tensors die soon after they are made.
std::vector<int> depth_first_order(const Graph& g) {
  std::vector<int> indeg(g.num_nodes()), order, stack;
  for (int v = 0; v < g.num_nodes(); ++v) indeg[v] = static_cast<int>(g.in_edges(v).size());
  for (int v = g.num_nodes() - 1; v >= 0; --v)
    if (indeg[v] == 0) stack.push_back(v);
  while (!stack.empty()) {
    const int v = stack.back();
    stack.pop_back();
    order.push_back(v);
    const auto& out = g.out_edges(v);
    for (auto it = out.rbegin(); it != out.rend(); ++it)
      if (--indeg[g.edges[*it].dst] == 0) stack.push_back(g.edges[*it].dst);
  }
  return order;
}

// Last resort: depth-first over device assignments in topological order (can-run, links,
// weights pruned; fastest devices first), each complete one replayed in two orders and kept
// when its memory over time fits; the best found within a budget of device tries and the
// deadline (exhaustive on tiny graphs).
std::optional<Plan> memory_search(const Problem& pr, const SolveContext& ctx) {
  const Graph& g = pr.graph();
  const Objective& objective = *ctx.objective;
  const int n = pr.num_nodes(), k = pr.num_devices();
  if (n > 5000) return std::nullopt;  // one recursion frame per node
  const std::vector<int>& topo = g.topo_order();
  std::vector<std::vector<int>> orders = {topo, depth_first_order(g)};
  // Tiny graphs: every topological order (up to 24), so the per-device orders are all tried.
  if (n <= 8) {
    std::vector<int> indeg(n), seq;
    for (int v = 0; v < n; ++v) indeg[v] = static_cast<int>(g.in_edges(v).size());
    std::function<void()> extend = [&] {
      if (orders.size() >= 26) return;
      if (static_cast<int>(seq.size()) == n) {
        if (seq != orders[0] && seq != orders[1]) orders.push_back(seq);
        return;
      }
      for (int v = 0; v < n; ++v) {
        if (indeg[v] != 0) continue;
        indeg[v] = -1;
        for (int e : g.out_edges(v)) --indeg[g.edges[e].dst];
        seq.push_back(v);
        extend();
        seq.pop_back();
        for (int e : g.out_edges(v)) ++indeg[g.edges[e].dst];
        indeg[v] = 0;
      }
    };
    extend();
  }
  std::vector<std::vector<int>> cand(n);
  for (int v = 0; v < n; ++v) {
    for (int d = 0; d < k; ++d)
      if (pr.can_run(v, d) && std::isfinite(pr.input_us(v, d)) && std::isfinite(pr.output_us(v, d)) &&
          pr.resident_bytes(v) <= pr.capacity_bytes(d))
        cand[v].push_back(d);
    std::stable_sort(cand[v].begin(), cand[v].end(), [&](int a, int b) { return pr.cost_us(v, a) < pr.cost_us(v, b); });
  }
  std::vector<int> dev(n, -1);
  std::vector<double> mem(k, 0.0);
  // Colocation: a group's first placed member decides its device; placed members per group.
  std::vector<int> group_device(pr.num_groups(), -1), group_placed(pr.num_groups(), 0);
  std::optional<Plan> best;
  long steps = 0;
  const long budget = 100000;
  // At most a second of its own (tiny graphs finish far sooner), within the deadline.
  const SolveContext::Clock::time_point until = SolveContext::Clock::now() + std::chrono::seconds(1);
  std::function<void(int)> place = [&](int t) {
    if (steps > budget || ctx.stopped() || ((steps & 255) == 0 && SolveContext::Clock::now() > until)) return;
    if (t == n) {
      for (const auto& order : orders) {
        steps += 1;
        Result<Plan> p = objective.evaluate(pr, mapping_from_priority(pr, dev, order));
        std::vector<double> transient;
        if (p && (!best || p->makespan_us < best->makespan_us) && overflow(objective, pr, *p, transient).empty())
          best = std::move(*p);
      }
      return;
    }
    const int v = topo[t];
    const int group = pr.group_of(v);
    for (int d : cand[v]) {
      if (++steps > budget) return;
      if (group >= 0 && group_device[group] >= 0 && group_device[group] != d) continue;
      if (mem[d] + pr.resident_bytes(v) > pr.capacity_bytes(d)) continue;
      bool linked = true;
      for (int e : g.in_edges(v)) linked = linked && std::isfinite(pr.comm_us(e, dev[g.edges[e].src], d));
      if (!linked) continue;
      dev[v] = d;
      mem[d] += pr.resident_bytes(v);
      if (group >= 0 && group_placed[group]++ == 0) group_device[group] = d;
      place(t + 1);
      if (group >= 0 && --group_placed[group] == 0) group_device[group] = -1;
      mem[d] -= pr.resident_bytes(v);
      dev[v] = -1;
    }
  };
  place(0);
  return best;
}

// Where memory is tightest, the leanest plans are pipelines: the topological order cut into
// contiguous segments, one device after another (largest memory first), so a device holds its
// segment's weights and little else at a time. Each device is filled up to its capacity less
// a reserve for live tensors, tried at 0.5, 1, 1.5, 2 and 3 times the largest tensor working
// set of one node; the fastest segmentation that fits over time is kept. Not for graphs with
// colocation groups: a training step's backward reverses its forward, so segments split groups.
std::optional<Plan> segment_pipeline(const Problem& pr, const SolveContext& ctx) {
  if (pr.num_groups() > 0) return std::nullopt;
  const Graph& g = pr.graph();
  const Objective& objective = *ctx.objective;
  const int n = pr.num_nodes(), k = pr.num_devices();
  const std::vector<int>& topo = g.topo_order();
  std::vector<double> extra = every_tensor_charged(pr);
  double busiest = 0;
  for (double x : extra) busiest = std::max(busiest, x);
  std::vector<int> by(k);
  for (int d = 0; d < k; ++d) by[d] = d;
  std::stable_sort(by.begin(), by.end(), [&](int a, int b) { return pr.capacity_bytes(a) > pr.capacity_bytes(b); });
  std::optional<Plan> best;
  for (double times : {0.5, 1.0, 1.5, 2.0, 3.0}) {
    if (ctx.stopped()) break;
    std::vector<int> device(n, -1);
    std::vector<double> mem(k, 0.0);
    size_t at = 0;
    bool placed_all = true;
    for (int v : topo) {
      auto room = [&](int d) {
        return pr.can_run(v, d) && mem[d] + pr.resident_bytes(v) <= pr.capacity_bytes(d) - times * busiest;
      };
      while (at < by.size() && !room(by[at]) && mem[by[at]] > 0 && pr.can_run(v, by[at])) ++at;
      int d = at < by.size() && room(by[at]) ? by[at] : -1;
      for (size_t j = 0; j < by.size() && d < 0; ++j)
        if (room(by[j])) d = by[j];
      if (d < 0) {
        placed_all = false;
        break;
      }
      device[v] = d;
      mem[d] += pr.resident_bytes(v);
    }
    if (!placed_all) continue;
    Result<Plan> p = objective.evaluate(pr, mapping_from_priority(pr, device, topo));
    std::vector<double> transient;
    if (p && (!best || p->makespan_us < best->makespan_us) && overflow(objective, pr, *p, transient).empty())
      best = std::move(*p);
  }
  return best;
}

// The solvers pack weights and state only: a relaxation of memory over time, so their bounds
// hold. When the plan's live tensors overflow a device, the solver runs again with each such
// device's capacity lowered by the tensors it held at its peak (up to three times, reserves
// only growing), then, as the last resort, with every node charged every tensor it touches
// (a plan of that problem cannot overflow). Returns the mapping that fits or an error.
Result<Plan> fit_memory_alone(const Solver& solver, const Problem& pr, const SolveContext& ctx, Plan first,
                              std::vector<std::string>& notes);

// The repair below; for the searching solvers (whose contract is a plan no worse than the
// baselines: milp, bnb, split, auto), the same repair of every list-scheduling baseline beside
// it (HEFT and Baechi's three, milliseconds each): repairs start from different plans and
// reserve different bytes, so a search's repaired plan could otherwise end worse than a
// baseline's. The fastest is kept, said in a note. A baseline keeps its own answer.
Result<Plan> fit_memory(const Solver& solver, const Problem& pr, const SolveContext& ctx, Plan first,
                        const std::vector<Mapping>& fallbacks, std::vector<std::string>& notes) {
  const size_t noted = notes.size();
  Result<Plan> own = fit_memory_alone(solver, pr, ctx, std::move(first), notes);
  const std::string name = solver.name();
  for (const Mapping& m : fallbacks) {  // what the solver kept aside, when it fits and is faster
    if (notes.size() == noted) break;
    Result<Plan> p = ctx.objective->evaluate(pr, m);
    std::vector<double> transient;
    if (p && overflow(*ctx.objective, pr, *p, transient).empty() &&
        (!own || ctx.objective->value(*p) < ctx.objective->value(*own) * (1 - 1e-12))) {
      p->notes = own ? own->notes : std::vector<std::string>{};
      own = std::move(p);
      notes.resize(noted + 1);
      notes.push_back(name + ": its best plan that fits over time was faster than the repair and was kept");
    }
  }
  if (notes.size() == noted || !is_search(name)) return own;  // no repair was needed, or a baseline
  for (const char* base : {"heft", "m-etf", "m-sct", "m-topo", "m-crit"}) {
    std::unique_ptr<Solver> b = top_solver(base, pr);
    // Past the deadline the list schedulers finish in topological order (linear); before it,
    // none may take more than a quarter of what is left.
    Result<SolverOutput> o = b->run(pr, ctx.within(ctx.seconds_left() / 4));
    if (!o) continue;
    Result<Plan> bp = ctx.objective->evaluate(pr, o->mapping);
    if (!bp) continue;
    std::vector<std::string> base_notes;
    Result<Plan> fixed = fit_memory_alone(*b, pr, ctx, std::move(*bp), base_notes);
    if (fixed && (!own || ctx.objective->value(*fixed) < ctx.objective->value(*own) * (1 - 1e-12))) {
      fixed->notes = o->notes;
      fixed->modules.clear();
      own = std::move(fixed);
      notes.resize(noted + 1);  // keep the first line: what overflowed
      notes.push_back(name + ": the " + base + " plan, repaired the same way, was faster and was kept");
    }
  }
  return own;
}

// Whether two plans put every (node, lane) on the same device.
bool same_placement(const Plan& a, const Plan& b) {
  if (a.placements.size() != b.placements.size()) return false;
  for (size_t i = 0; i < a.placements.size(); ++i)
    if (a.placements[i].node != b.placements[i].node || a.placements[i].device != b.placements[i].device ||
        a.placements[i].lane != b.placements[i].lane)
      return false;
  return true;
}

Result<Plan> fit_memory_alone(const Solver& solver, const Problem& pr, const SolveContext& ctx, Plan first,
                              std::vector<std::string>& notes) {
  const Objective& objective = *ctx.objective;
  const int k = pr.num_devices();
  std::vector<double> transient, reserve(k, 0.0), over = overflow(objective, pr, first, transient);
  if (over.empty()) return first;
  auto describe = [&](const std::vector<double>& o) {
    std::string s;
    for (int d = 0; d < k; ++d)
      if (o[d] > 0) s += (s.empty() ? "" : ", ") + ("'" + pr.platform().devices[d].name + "' by " + bytes_text(o[d]));
    return s;
  };
  const std::string first_over = describe(over);
  notes.push_back(solver.name() + ": its plan's live tensors overflowed " + first_over +
                  "; solved again with memory reserved for them");
  auto attempt = [&](const Problem& view) -> std::optional<Plan> {
    // Each attempt gets a third of what is left: the chain after it keeps time.
    SolveContext sub = ctx.within(std::max(0.05, ctx.seconds_left() / 3));
    sub.cache = nullptr;
    Result<SolverOutput> o = solver.run(view, sub);
    if (!o) return std::nullopt;
    Result<Plan> p = objective.evaluate(pr, o->mapping);
    if (!p) return std::nullopt;
    p->notes = o->notes;
    p->modules = o->modules;
    return *p;
  };
  std::optional<Plan> previous;  // the last round's plan
  for (int round = 0; round < 3 && !ctx.stopped(); ++round) {
    std::vector<double> capacity(k);
    bool possible = true;
    for (int d = 0; d < k; ++d) {
      if (over[d] > 0) reserve[d] = std::max(reserve[d], transient[d]);
      capacity[d] = pr.capacity_bytes(d) - reserve[d];
      possible &= capacity[d] >= 0;
    }
    if (!possible) break;
    std::optional<Plan> p = attempt(pr.with_memory(capacity, {}));
    if (!p) break;
    std::vector<double> t;
    std::vector<double> o = overflow(objective, pr, *p, t);
    if (o.empty()) return *p;
    // The same placement again (the reserve left the weights' packing as it was, as when the
    // overflow is tensors far below the capacity): more rounds would repeat it.
    if (same_placement(*p, previous ? *previous : first)) break;
    previous = *p;
    for (int d = 0; d < k; ++d) transient[d] = std::max(transient[d], t[d]), over[d] = std::max(over[d], o[d]);
  }
  std::vector<double> capacity(k);
  for (int d = 0; d < k; ++d) capacity[d] = pr.capacity_bytes(d);
  const Problem charged = pr.with_memory(capacity, every_tensor_charged(pr));
  if (std::optional<Plan> p = attempt(charged)) {
    std::vector<double> t;
    if (overflow(objective, pr, *p, t).empty()) {
      notes.push_back(solver.name() + ": kept the plan solved with every tensor charged to its device");
      return *p;
    }
  }
  // The last two depend on the problem only: once per solve (the searching solvers repair
  // the baselines too, on the same problem).
  auto once = [&](const std::string& key, auto make) {
    return ctx.cache ? ctx.cache->get<std::optional<Plan>>(pr, key, make) : make();
  };
  if (std::optional<Plan> p = once("memory/segments", [&] { return segment_pipeline(pr, ctx); })) {
    notes.push_back(solver.name() + ": kept a pipeline of contiguous segments that leaves room for the tensors");
    return *p;
  }
  if (std::optional<Plan> p = once("memory/search", [&] { return memory_search(pr, ctx); })) {
    notes.push_back(solver.name() + ": kept the best plan of a search over assignments that checks memory over time");
    return *p;
  }
  return infeasible(solver.name() +
                    ": no plan found within memory: the weights fit, but the live tensors of the "
                    "plans found overflow " +
                    first_over + " (no proof that no plan exists; try another solver or a longer --time-limit)");
}

}  // namespace

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
  // Throughput solvers pack weights only; say so when the tensors of the inputs in flight
  // overflow a device in the steady state (never silently).
  if (!objective.memory_over_time() && !fits_memory(problem, *plan)) {
    const MemoryProfile mem = memory_profile(problem, *plan);
    for (int d = 0; d < problem.num_devices(); ++d)
      if (mem.peak_bytes[d] > problem.capacity_bytes(d) * (1 + 1e-9) + 1e-6)
        plan->notes.push_back(name + ": in the steady state device '" + problem.platform().devices[d].name +
                              "' holds " + bytes_text(mem.peak_bytes[d]) + " (weights and state " +
                              bytes_text(mem.resident_bytes[d]) + ", tensors of the inputs in flight " +
                              bytes_text(mem.peak_bytes[d] - mem.resident_bytes[d]) + "), above its memory_bytes " +
                              bytes_text(problem.capacity_bytes(d)) + ": throughput plans are packed by weights only");
  }
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
