#include "stream_split.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "diviml/milp/milp.hpp"
#include "diviml/solvers/balance.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/split.hpp"
#include "diviml/solvers/stages.hpp"
#include "diviml/solvers/streams.hpp"

namespace diviml {

namespace {

// (busiest resource, sum of squared loads) of a one-lane choice.
std::pair<double, double> score_of(const Problem& pr, const std::vector<int>& device) {
  const StreamLoads s = stream_loads(pr, device);
  double sq = 0;
  for (size_t r = 0; r < s.size(); ++r) sq += s.at(r) * s.at(r);
  return {s.max_load(), sq};
}

}  // namespace

// The most load entries the module combination may hold (8 bytes each: 160 MB).
constexpr double kMaxCombinationNumbers = 2e7;

Result<SolverOutput> split_for_throughput(const Problem& pr, const SolveContext& ctx) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  // Units: module nodes then its exit split node.
  std::vector<std::vector<int>> units;
  std::vector<int> unit_of(n, -1);
  for (const Module& m : decompose(g, 1)) {  // the pieces between consecutive split nodes
    std::vector<int> u = m.nodes;
    if (m.exit >= 0) u.push_back(m.exit);
    if (u.empty()) continue;
    for (int v : u) unit_of[v] = static_cast<int>(units.size());
    units.push_back(std::move(u));
  }
  for (int v = 0; v < n; ++v)
    if (unit_of[v] < 0) {  // a node outside every module (a leading source): a unit of its own
      unit_of[v] = static_cast<int>(units.size());
      units.push_back({v});
    }
  // The start: the better one-lane choice of stages (up to 10 devices) and balance.
  std::optional<std::vector<int>> start;
  std::pair<double, double> start_score{kInf, kInf};
  std::string from;
  auto offer = [&](const std::string& name, const Result<SolverOutput>& o) {
    if (!o || o->mapping.device.size() != static_cast<size_t>(n)) return;  // one lane only
    const auto sc = score_of(pr, o->mapping.device);
    if (sc < start_score) start_score = sc, start = o->mapping.device, from = name;
  };
  offer("stages", shared_run(StagesSolver(), pr, ctx.within(0.3 * ctx.seconds_left())));
  offer("balance", shared_run(BalanceSolver(), pr, ctx.within(0.3 * ctx.seconds_left())));
  // The latency baseline (HEFT or fastest, one lane) when the others dealt lanes.
  if (!start)
    if (std::optional<BaselinePlan> base = best_baseline(pr, ctx))
      if (base->output.mapping.device.size() == static_cast<size_t>(n))
        start = base->output.mapping.device, from = base->solver;
  std::vector<int> device;
  if (start) {
    device = *start;
  } else {  // every start used lanes: the fastest device for everything it runs
    device.assign(n, 0);
    for (int v = 0; v < n; ++v)
      for (int d = 0; d < k; ++d)
        if (pr.can_run(v, d) && (!pr.can_run(v, device[v]) || pr.cost_us(v, d) < pr.cost_us(v, device[v])))
          device[v] = d;
    from = "fastest per node";
  }
  const std::vector<int> initial = device;
  // Candidates per unit: c < k the whole unit on device c (when it runs there), c == k the
  // start's placement of it. Loads per round are linear in the choice: each unit's own compute,
  // host copies and internal tensors, plus, per pair of connected units and pair of choices,
  // the tensors between them (once per producer and destination device within the consumer
  // unit).
  const int m = static_cast<int>(units.size()), choices = k + 1;
  auto placed = [&](int /*unit*/, int c, int v) { return c < k ? c : initial[v]; };
  // The loads below are dense: (units x choices + connected unit pairs x choices^2) x
  // (devices + device pairs) numbers. Beyond the budget (tens of devices: gigabytes) the
  // combination is not built and the start, realised, is the answer.
  {
    std::set<std::pair<int, int>> pairs;
    for (const Edge& e : g.edges)
      if (unit_of[e.src] != unit_of[e.dst]) pairs.insert({unit_of[e.src], unit_of[e.dst]});
    const double numbers = (static_cast<double>(m) * choices + static_cast<double>(pairs.size()) * choices * choices) *
                           static_cast<double>(StreamLoads(k).size());
    if (numbers > kMaxCombinationNumbers) {
      auto r = realize_pipeline(pr, ctx, initial);
      if (!r) return infeasible("split: the " + from + " start gives no plan");
      SolverOutput o = std::move(r->output);
      o.notes.push_back("split: the " + from + " start; the module combination was not built (" +
                        std::to_string(static_cast<long>(numbers)) + " load entries for " + std::to_string(k) +
                        " devices)");
      return o;
    }
  }
  std::vector<std::vector<char>> ok(m, std::vector<char>(choices, 1));
  for (int u = 0; u < m; ++u)
    for (int c = 0; c < k; ++c)
      for (int v : units[u]) ok[u][c] = ok[u][c] && pr.can_run(v, c) && pr.resident_bytes(v) <= pr.capacity_bytes(c);
  const Platform& pf = pr.platform();
  const size_t resources = StreamLoads(k).size();
  // Own loads per unit and choice; tensors from a producer to a consumer unit, per choice pair.
  std::vector<std::vector<StreamLoads>> own(m, std::vector<StreamLoads>(choices));
  std::map<std::pair<int, int>, std::vector<StreamLoads>> between;  // (U, W) -> [cU * choices + cW]
  const int host = pf.host;
  std::vector<double> to;
  // The tensors of v on device a to its consumers in unit W placed by choice cw, into `load`.
  auto add_tensors = [&](StreamLoads& load, int v, int a, int W, int cw) {
    tensor_moves(
        pr, v, a, [&](int w) { return unit_of[w] == W ? placed(W, cw, w) : -1; }, to);
    for (int b = 0; b < k; ++b)
      if (to[b] > 0) load.add_copy(pf, a, b, to[b]);
  };
  for (int u = 0; u < m; ++u)
    for (int c = 0; c < choices; ++c) {
      if (!ok[u][c]) continue;
      StreamLoads& load = own[u][c];
      load = StreamLoads(k);
      for (int v : units[u]) {
        const int a = placed(u, c, v);
        load.device[a] += pr.cost_us(v, a);
        if (pr.input_us(v, a) > 0) load.add_copy(pf, host, a, pr.input_us(v, a));
        if (pr.output_us(v, a) > 0) load.add_copy(pf, a, host, pr.output_us(v, a));
        add_tensors(load, v, a, u, c);
      }
    }
  for (int v = 0; v < n; ++v) {
    const int U = unit_of[v];
    std::vector<int> targets;
    for (int e : g.out_edges(v))
      if (unit_of[g.edges[e].dst] != U) targets.push_back(unit_of[g.edges[e].dst]);
    std::sort(targets.begin(), targets.end());
    targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
    for (int W : targets) {
      auto& table = between[{U, W}];
      if (table.empty()) table.assign(static_cast<size_t>(choices) * choices, StreamLoads(k));
      for (int cu = 0; cu < choices; ++cu)
        for (int cw = 0; cw < choices; ++cw)
          if (ok[U][cu] && ok[W][cw])
            add_tensors(table[static_cast<size_t>(cu) * choices + cw], v, placed(U, cu, v), W, cw);
    }
  }
  // The combination MILP: z[u][c] binary, y >= z[U][cU] + z[W][cW] - 1 for the pairs that move
  // tensors, every resource's load <= P.
  MilpModel model;
  const int P = model.add_var(0, kInf, 1.0, false, "P");
  std::vector<std::vector<int>> z(m, std::vector<int>(choices, -1));
  std::vector<std::vector<std::pair<int, double>>> rows(resources);
  for (int u = 0; u < m; ++u) {
    std::vector<std::pair<int, double>> one;
    for (int c = 0; c < choices; ++c) {
      if (!ok[u][c]) continue;
      z[u][c] = model.add_var(0, 1, 0, true);
      one.push_back({z[u][c], 1.0});
      for (size_t r = 0; r < resources; ++r)
        if (own[u][c].at(r) != 0) rows[r].push_back({z[u][c], own[u][c].at(r)});
    }
    model.add_row(std::move(one), 1, 1);
  }
  bool unpriceable = false;
  for (const auto& [pair, table] : between)
    for (int cu = 0; cu < choices; ++cu)
      for (int cw = 0; cw < choices; ++cw) {
        const auto& load = table[static_cast<size_t>(cu) * choices + cw];
        if (z[pair.first][cu] < 0 || z[pair.second][cw] < 0) continue;
        bool any = false, finite = true;
        for (size_t r = 0; r < resources; ++r)
          any = any || load.at(r) != 0, finite = finite && std::isfinite(load.at(r));
        if (!any) continue;
        if (!finite) {  // no link: the pair is excluded
          model.add_row({{z[pair.first][cu], 1.0}, {z[pair.second][cw], 1.0}}, -kInf, 1);
          continue;
        }
        const int y = model.add_var(0, 1, 0, false);
        model.add_row({{y, 1.0}, {z[pair.first][cu], -1.0}, {z[pair.second][cw], -1.0}}, -1, kInf);
        for (size_t r = 0; r < resources; ++r)
          if (load.at(r) != 0) rows[r].push_back({y, load.at(r)});
      }
  for (auto& row : rows) {
    for (const auto& t : row) unpriceable = unpriceable || !std::isfinite(t.second);
    if (row.empty()) continue;
    row.push_back({P, -1.0});
    model.add_row(std::move(row), -kInf, 0);
  }
  // The start is realised first (the fallback, and how long a realisation takes); the MILP
  // gets what is left but twice that.
  StreamBest<std::pair<Realized, std::string>> out;  // (realised decision, note)
  std::string why;
  auto consider = [&](const std::vector<int>& choice, const std::string& what) {
    auto r = realize_pipeline(pr, ctx, choice, &why);
    if (r) out.offer(r->rank, {std::move(*r), what});
  };
  const auto t0 = SolveContext::Clock::now();
  consider(initial, "split: the " + from + " start (the module combination replayed no better)");
  const double realize_s = std::chrono::duration<double>(SolveContext::Clock::now() - t0).count();
  std::string combined = "not solved";
  double combined_load = kInf;
  const double milp_s = ctx.seconds_left() - 2 * realize_s;
  if (!unpriceable && (milp_s > 0.02 || out.empty())) {
    MilpOptions mo;
    mo.time_limit_s = std::max(0.01, 0.8 * milp_s);
    mo.threads = ctx.options.threads;
    mo.seed = ctx.options.seed;
    auto res = make_cbc_backend()->solve(model, mo);
    if (res && !res->x.empty()) {
      for (int u = 0; u < m; ++u) {
        int pick = k;
        double best_x = -1;
        for (int c = 0; c < choices; ++c)
          if (z[u][c] >= 0 && res->x[z[u][c]] > best_x) best_x = res->x[z[u][c]], pick = c;
        for (int v : units[u]) device[v] = placed(u, pick, v);
      }
      combined_load = res->objective;
      combined = res->status == MilpResult::Status::kOptimal ? "optimal" : "time limit";
    } else {
      combined = res ? "no solution" : res.error().message;
    }
  }
  int changed = 0;
  for (int v = 0; v < n; ++v) changed += device[v] != initial[v];
  if (changed > 0)
    consider(device, "split: " + std::to_string(m) + " module unit(s), each whole on a device or as " + from +
                         " places it, combined by MILP (" + combined + ", busiest load " +
                         std::to_string(combined_load) + " us); " + std::to_string(changed) +
                         " node(s) moved from the start");
  if (out.empty()) return infeasible("split: no module combination gives a plan (" + why + ")");
  auto [realized, note] = out.take();
  SolverOutput o = std::move(realized.output);
  o.notes.push_back(note + (realized.step != 0 ? "; delays" : ""));
  return o;
}

}  // namespace diviml
