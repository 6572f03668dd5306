// The memory repair of solve() (docs/cost-model.md, "Memory over time"): a plan whose live
// tensors overflow a device is solved again under reserves, then by last resorts that check
// memory over time themselves.
#include "memory_fit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>

#include "diviml/objective/memory.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solvers/streams.hpp"

namespace diviml {

namespace {

// Per device, bytes above its capacity at the plan's peak; empty when it fits or the objective
// does not model memory over time.
std::vector<double> overflow(const Objective& objective, const Problem& pr, const Plan& plan,
                             std::vector<double>& transient) {
  const int k = pr.num_devices();
  bool limited = false;
  for (int d = 0; d < k; ++d) limited |= std::isfinite(pr.capacity_bytes(d));
  transient = limited ? objective.transient_bytes(pr, plan) : std::vector<double>{};
  if (transient.empty()) return {};
  // Weights and state once per device that runs the node (in any lane of a throughput plan).
  std::vector<double> resident(k, 0.0), over(k, 0.0);
  std::vector<char> held(static_cast<size_t>(k) * pr.num_nodes(), 0);
  for (const Placement& p : plan.placements)
    if (!held[static_cast<size_t>(p.device) * pr.num_nodes() + p.node]++)
      resident[p.device] += pr.resident_bytes(p.node);
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

// The best plan offered that fits memory: the least makespan for latency; for throughput the
// ranking rule (streams.hpp: period, then latency within its tolerance).
class Kept {
 public:
  explicit Kept(const SolveContext& ctx) : ctx_(ctx), stream_(ctx.objective->name() == "throughput") {}
  void offer(Plan p) {
    const double value = ctx_.score(p);
    if (!std::isfinite(value)) return;
    if (stream_) {
      streams_.offer(StreamRank{true, value, p.latency_us}, std::move(p));
    } else if (!best_ || value < ctx_.score(*best_)) {
      best_ = std::move(p);
    }
  }
  bool empty() const { return stream_ ? streams_.empty() : !best_; }
  std::optional<Plan> take() {
    if (stream_) return streams_.empty() ? std::nullopt : std::optional<Plan>(streams_.take());
    return std::move(best_);
  }

 private:
  const SolveContext& ctx_;
  bool stream_;
  StreamBest<Plan> streams_;
  std::optional<Plan> best_;
};

// Last resort, exhaustive on tiny problems: every device per task (lanes x nodes: one lane for
// latency, one and two for throughput, at most 8 tasks in all) that runs it, with its links and
// weights, and every order per device: for latency every order of the device's nodes that keeps
// precedence; for throughput every interleaving of the lanes' tasks, each lane in topological
// order (the oracle test's space). Each decision replayed and kept when it fits memory over time;
// a throughput decision that does not is kept aside and paced (Mapping::pace_us) when none fits.
// Bounded by `steps` replays and the deadline; returns whether it finished.
bool exhaustive_search(const Problem& pr, const SolveContext& ctx, int lanes, long& steps, Kept& kept,
                       std::vector<Mapping>& aside) {
  const Graph& g = pr.graph();
  const Objective& objective = *ctx.objective;
  const bool stream = objective.name() == "throughput";
  const int n = pr.num_nodes(), k = pr.num_devices(), tasks = lanes * n;
  const std::vector<int>& topo = g.topo_order();
  std::vector<std::vector<char>> before(n, std::vector<char>(n, 0));  // before[v][u]: u precedes v
  for (int v : topo)
    for (int e : g.in_edges(v)) {
      const int u = g.edges[e].src;
      before[v][u] = 1;
      for (int w = 0; w < n; ++w) before[v][w] |= before[u][w];
    }
  std::vector<int> dev(tasks, -1);
  std::vector<int> held(static_cast<size_t>(k) * n, 0);
  std::vector<double> mem(k, 0.0);
  std::vector<int> group_device(static_cast<size_t>(pr.num_groups()) * lanes, -1);
  bool finished = true;
  Mapping m;
  auto evaluate = [&] {
    if (++steps > 200000 || ctx.stopped()) return finished = false, void();
    Result<Plan> p = objective.evaluate(pr, m);
    if (!p) return;
    if (fits_memory(pr, *p))
      kept.offer(std::move(*p));
    else if (stream && aside.size() < 64)
      aside.push_back(m);
  };
  // Orders per device, device by device.
  std::function<void(int)> order_device = [&](int d) {
    if (!finished) return;
    if (d == k) return evaluate();
    std::vector<int> mine;
    for (int l = 0; l < lanes; ++l)
      for (int v : topo)
        if (dev[l * n + v] == d) mine.push_back(l * n + v);
    std::vector<int>& o = m.order[d];
    if (stream) {
      // Interleavings of the lanes' runs (each in topological order).
      std::vector<std::vector<int>> runs(lanes);
      for (int t : mine) runs[t / n].push_back(t);
      std::vector<size_t> at(lanes, 0);
      o.clear();
      std::function<void()> weave = [&] {
        if (!finished) return;
        if (o.size() == mine.size()) return order_device(d + 1);
        for (int l = 0; l < lanes; ++l) {
          if (at[l] == runs[l].size()) continue;
          o.push_back(runs[l][at[l]++]);
          weave();
          --at[l];
          o.pop_back();
        }
      };
      weave();
      return;
    }
    o = mine;
    std::sort(o.begin(), o.end());
    do {
      bool ok = true;
      for (size_t a = 0; a < o.size() && ok; ++a)
        for (size_t b = a + 1; b < o.size() && ok; ++b) ok = !before[o[a]][o[b]];
      if (ok) order_device(d + 1);
    } while (finished && std::next_permutation(o.begin(), o.end()));
  };
  std::function<void(int)> place = [&](int i) {
    if (!finished) return;
    if (i == tasks) {
      m = Mapping{dev, std::vector<std::vector<int>>(k)};
      return order_device(0);
    }
    const int l = i / n, v = topo[i % n], t = l * n + v;
    const int group = pr.group_of(v);
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(v, d) || !std::isfinite(pr.input_us(v, d)) || !std::isfinite(pr.output_us(v, d))) continue;
      if (group >= 0 && group_device[group * lanes + l] >= 0 && group_device[group * lanes + l] != d) continue;
      const bool first_here = held[static_cast<size_t>(d) * n + v] == 0;
      if (first_here && mem[d] + pr.resident_bytes(v) > pr.capacity_bytes(d)) continue;
      bool linked = true;
      for (int e : g.in_edges(v)) linked = linked && std::isfinite(pr.comm_us(e, dev[l * n + g.edges[e].src], d));
      if (!linked) continue;
      dev[t] = d;
      if (held[static_cast<size_t>(d) * n + v]++ == 0) mem[d] += pr.resident_bytes(v);
      const bool sets_group = group >= 0 && group_device[group * lanes + l] < 0;
      if (sets_group) group_device[group * lanes + l] = d;
      place(i + 1);
      if (sets_group) group_device[group * lanes + l] = -1;
      if (--held[static_cast<size_t>(d) * n + v] == 0) mem[d] -= pr.resident_bytes(v);
      dev[t] = -1;
    }
  };
  place(0);
  return finished;
}

// Last resort: on tiny problems the exhaustive search above; else depth-first over device
// assignments in topological order (can-run, links, weights pruned; fastest devices first),
// each complete one replayed in a topological and a depth-first order and kept when its memory
// over time fits; the best found within a budget of device tries, a second and the deadline.
// For throughput, decisions that do not fit are paced (Mapping::pace_us) when none fits.
struct Searched {
  std::optional<Plan> plan;
  bool exhaustive = false;  // every decision of the space was tried (tiny problems)
};
Searched memory_search(const Problem& pr, const SolveContext& ctx) {
  const Graph& g = pr.graph();
  const Objective& objective = *ctx.objective;
  const bool stream = objective.name() == "throughput";
  const int n = pr.num_nodes(), k = pr.num_devices();
  if (n > 5000) return {};  // one recursion frame per node
  Kept kept(ctx);
  std::vector<Mapping> aside;  // throughput decisions that overflow at full speed
  long steps = 0;
  bool exhaustive = false;
  if (n <= 8) {
    exhaustive = exhaustive_search(pr, ctx, 1, steps, kept, aside);
    if (stream && 2 * n <= 8) exhaustive = exhaustive_search(pr, ctx, 2, steps, kept, aside) && exhaustive;
  }
  if (!exhaustive) {
    const std::vector<int>& topo = g.topo_order();
    const std::vector<std::vector<int>> orders = {topo, depth_first_order(g)};
    std::vector<std::vector<int>> cand(n);
    for (int v = 0; v < n; ++v) {
      for (int d = 0; d < k; ++d)
        if (pr.can_run(v, d) && std::isfinite(pr.input_us(v, d)) && std::isfinite(pr.output_us(v, d)) &&
            pr.resident_bytes(v) <= pr.capacity_bytes(d))
          cand[v].push_back(d);
      std::stable_sort(cand[v].begin(), cand[v].end(),
                       [&](int a, int b) { return pr.cost_us(v, a) < pr.cost_us(v, b); });
    }
    std::vector<int> dev(n, -1);
    std::vector<double> mem(k, 0.0);
    // Colocation: a group's first placed member decides its device; placed members per group.
    std::vector<int> group_device(pr.num_groups(), -1), group_placed(pr.num_groups(), 0);
    const long budget = 100000;
    // At most a second of its own, within the deadline.
    const SolveContext::Clock::time_point until = SolveContext::Clock::now() + std::chrono::seconds(1);
    std::function<void(int)> place = [&](int t) {
      if (steps > budget || ctx.stopped() || ((steps & 255) == 0 && SolveContext::Clock::now() > until)) return;
      if (t == n) {
        for (const auto& order : orders) {
          steps += 1;
          Mapping m = mapping_from_priority(pr, dev, order);
          Result<Plan> p = objective.evaluate(pr, m);
          if (!p) continue;
          if (fits_memory(pr, *p))
            kept.offer(std::move(*p));
          else if (stream && aside.size() < 64)
            aside.push_back(std::move(m));
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
  }
  // Throughput: nothing fits at full speed; slower inputs hold fewer tensors in flight.
  for (size_t i = 0; i < aside.size() && kept.empty() && !ctx.stopped(); ++i)
    if (std::optional<Mapping> m = paced_within(pr, ctx, aside[i]))
      if (Result<Plan> p = objective.evaluate(pr, *m); p && fits_memory(pr, *p)) kept.offer(std::move(*p));
  return Searched{kept.take(), exhaustive};
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
  Kept kept(ctx);
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
    Mapping m = mapping_from_priority(pr, device, topo);
    Result<Plan> p = objective.evaluate(pr, m);
    if (!p) continue;
    if (fits_memory(pr, *p)) {
      kept.offer(std::move(*p));
    } else if (objective.name() == "throughput") {  // slower inputs hold fewer tensors in flight
      if (std::optional<Mapping> paced = paced_within(pr, ctx, std::move(m)))
        if (Result<Plan> q = objective.evaluate(pr, *paced); q && fits_memory(pr, *q)) kept.offer(std::move(*q));
    }
  }
  return kept.take();
}

// Throughput's leanest plan: the latency solve (its own memory repair keeps one input within
// memory over time) as a one-lane stream, paced so that it fits (one input at a time at most).
std::optional<Plan> paced_latency_plan(const Problem& pr, const SolveContext& ctx) {
  SolveOptions options = ctx.options;
  options.time_limit_s = std::max(0.05, std::min(options.time_limit_s, ctx.seconds_left() / 3));
  if (options.time_limit_s < 1e-3) return std::nullopt;
  SolveHooks hooks;
  hooks.cancel = ctx.cancel;
  Result<Plan> latency = solve("auto", pr, options, hooks);
  if (!latency) return std::nullopt;
  std::optional<Mapping> m = paced_within(pr, ctx, mapping_of(pr, *latency));
  if (!m) return std::nullopt;
  Result<Plan> p = ctx.objective->evaluate(pr, *m);
  if (!p || !fits_memory(pr, *p)) return std::nullopt;
  return std::move(*p);
}

// The solvers pack weights and state only: a relaxation of memory over time, so their bounds
// hold. When the plan's live tensors overflow a device, the solver runs again with each such
// device's capacity lowered by the tensors it held at its peak (up to three times, reserves
// only growing), then, as the last resort, with every node charged every tensor it touches
// (a plan of that problem cannot overflow). Returns the mapping that fits or an error.
Result<Plan> fit_memory_alone(const Solver& solver, const Problem& pr, const SolveContext& ctx, Plan first,
                              std::vector<std::string>& notes);

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
  const bool stream = objective.name() == "throughput";
  if (stream)
    if (std::optional<Plan> p = once("memory/latency-plan", [&] { return paced_latency_plan(pr, ctx); })) {
      notes.push_back(solver.name() + ": kept the latency plan that fits memory over time, one input every " +
                      std::to_string(p->period_us) + " us");
      return *p;
    }
  if (std::optional<Plan> p = once("memory/segments", [&] { return segment_pipeline(pr, ctx); })) {
    notes.push_back(solver.name() + ": kept a pipeline of contiguous segments that leaves room for the tensors");
    return *p;
  }
  const Searched searched = ctx.cache
                                ? ctx.cache->get<Searched>(pr, "memory/search", [&] { return memory_search(pr, ctx); })
                                : memory_search(pr, ctx);
  if (searched.plan) {
    notes.push_back(solver.name() + ": kept the best plan of a search over assignments that checks memory over time");
    return *searched.plan;
  }
  // On a tiny latency problem the search tried every assignment and per-device order: that is a
  // proof, for plans started as early as their orders allow (docs/cost-model.md).
  if (searched.exhaustive && !stream)
    return infeasible(solver.name() + ": no plan exists within memory: every assignment and per-device order of the " +
                      std::to_string(pr.num_nodes()) +
                      " node(s), started as early as it allows, overflows a device's memory_bytes with its live "
                      "tensors (first found: " +
                      first_over + ")");
  return infeasible(solver.name() +
                    ": no plan found within memory: the weights fit, but the live tensors of the "
                    "plans found overflow " +
                    first_over +
                    " (no proof that no plan exists; the search was cut short: try another solver or a "
                    "longer --time-limit)");
}

}  // namespace

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
  // The baselines of the objective: list schedulers for latency, the pipeline DP and the best
  // single device for throughput.
  const std::vector<const char*> bases = ctx.objective->name() == "throughput"
                                             ? std::vector<const char*>{"stages", "fastest"}
                                             : std::vector<const char*>{"heft", "m-etf", "m-sct", "m-topo", "m-crit"};
  for (const char* base : bases) {
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

}  // namespace diviml
