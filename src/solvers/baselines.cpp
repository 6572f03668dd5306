#include "diviml/solvers/baselines.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include "diviml/solvers/fastest.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/m_crit.hpp"
#include "diviml/solvers/m_etf.hpp"
#include "diviml/solvers/m_sct.hpp"
#include "diviml/solvers/m_topo.hpp"

namespace diviml {

std::optional<std::vector<int>> feasible_assignment(const Problem& pr, long max_steps) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  const auto& topo = g.topo_order();
  // Candidate devices per node, fastest first; only those where its host input and output
  // can travel.
  std::vector<std::vector<int>> cand(n);
  for (int v = 0; v < n; ++v) {
    for (int d = 0; d < k; ++d)
      if (pr.can_run(v, d) && std::isfinite(pr.input_us(v, d)) && std::isfinite(pr.output_us(v, d)) &&
          pr.resident_bytes(v) <= pr.capacity_bytes(d))
        cand[v].push_back(d);
    std::stable_sort(cand[v].begin(), cand[v].end(), [&](int a, int b) { return pr.cost_us(v, a) < pr.cost_us(v, b); });
    if (cand[v].empty()) return std::nullopt;
  }
  std::vector<int> dev(n, -1);
  std::vector<double> mem(k, 0.0);
  // Colocation groups: the first member placed decides the group's device (one that runs every
  // member) and reserves all its weights there; the others follow it.
  std::vector<int> group_device(pr.num_groups(), -1);
  long steps = 0;
  // Depth-first in topological order; a device is allowed when memory and every link from an
  // already placed predecessor allow it. Exhaustive within the step budget.
  std::function<bool(int)> place = [&](int t) {
    if (t == n) return true;
    const int v = topo[t];
    const int c = pr.group_of(v);
    for (int d : cand[v]) {
      if (++steps > max_steps) return false;
      const bool opens = c >= 0 && group_device[c] < 0;
      if (c >= 0 && !opens && group_device[c] != d) continue;
      if (opens && !pr.group_runs(c, d)) continue;
      const double bytes = c < 0 ? pr.resident_bytes(v) : opens ? pr.group_resident_bytes(c) : 0.0;
      if (mem[d] + bytes > pr.capacity_bytes(d)) continue;
      bool linked = true;
      for (int e : g.in_edges(v)) linked = linked && std::isfinite(pr.comm_us(e, dev[g.edges[e].src], d));
      if (!linked) continue;
      dev[v] = d;
      mem[d] += bytes;
      if (opens) group_device[c] = d;
      if (place(t + 1)) return true;
      if (opens) group_device[c] = -1;
      mem[d] -= bytes;
      dev[v] = -1;
      if (steps > max_steps) return false;
    }
    return false;
  };
  // The recursion is one frame per node: keep it to graphs it cannot overflow the stack on.
  if (n > 5000 || !place(0)) return std::nullopt;
  return dev;
}

std::vector<int> deal_lanes(const std::vector<double>& rate, int lanes) {
  double total = 0;
  for (double r : rate) total += r;
  std::vector<int> count(rate.size(), 0);
  std::vector<std::pair<double, int>> rest;
  int given = 0;
  for (size_t i = 0; i < rate.size(); ++i) {
    const double share = total > 0 ? lanes * rate[i] / total : 0.0;
    count[i] = static_cast<int>(std::floor(share));
    given += count[i];
    rest.emplace_back(-(share - count[i]), static_cast<int>(i));
  }
  std::sort(rest.begin(), rest.end());
  for (int i = 0; given < lanes && !rest.empty(); ++i, ++given) ++count[rest[i % rest.size()].second];
  return count;
}

std::vector<int> lane_order(const std::vector<int>& count) {
  std::vector<int> left = count, order;
  int lanes = 0;
  for (int c : count) lanes += c;
  while (static_cast<int>(order.size()) < lanes)
    for (size_t i = 0; i < left.size(); ++i)
      if (left[i] > 0) --left[i], order.push_back(static_cast<int>(i));
  return order;
}

std::optional<BaselinePlan> best_baseline(const Problem& pr, const SolveContext& ctx) {
  auto make = [&] {
    std::optional<BaselinePlan> best;
    double best_value = kInf;
    const HeftSolver heft;
    const FastestSolver fastest;
    const MEtfSolver m_etf;
    const MSctSolver m_sct;
    const MTopoSolver m_topo;
    const MCritSolver m_crit;
    std::vector<const Solver*> solvers = {&heft, &fastest};
    // Where weights and state do not fit every device, Baechi's memory-aware baselines too:
    // under tight memory their placements (a pipeline of shares, earliest starts) can beat
    // HEFT's by a factor (docs/results.md, "Memory case study").
    double total = 0;
    for (int v = 0; v < pr.num_nodes(); ++v) total += pr.resident_bytes(v);
    bool binds = false;
    for (int d = 0; d < pr.num_devices(); ++d) binds |= pr.capacity_bytes(d) < total;
    if (binds && ctx.objective->name() == "latency") solvers.insert(solvers.end(), {&m_etf, &m_sct, &m_topo, &m_crit});
    for (const Solver* solver : solvers) {
      // Baechi's list schedulers scan every ready node per step (quadratic on wide graphs of
      // 100k ops): each gets a quarter of the time left, and finishes in topological order.
      const bool listing = solver == &m_etf || solver == &m_sct;
      auto o = solver->run(pr, listing ? ctx.within(ctx.seconds_left() / 4) : ctx);
      if (!o) continue;
      auto p = ctx.objective->evaluate(pr, o->mapping);
      if (p && ctx.score(*p) < best_value)
        best_value = ctx.score(*p), best = BaselinePlan{solver->name(), std::move(*o)};
    }
    return best;
  };
  if (!ctx.cache) return make();
  return ctx.cache->get<std::optional<BaselinePlan>>(pr, "best_baseline/" + ctx.objective->name(), make);
}

}  // namespace diviml
