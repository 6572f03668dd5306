#include "diviml/solve/colocate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <tuple>

#include "diviml/objective/throughput.hpp"
#include "diviml/solvers/baselines.hpp"

namespace diviml {
namespace {

// Each device's order: by delay, then `start` (the old schedule's start times, or zeros), then
// topological rank and lane; precedence-safe whatever moved.
void order_by(const Problem& pr, Mapping& m, const std::vector<double>& start) {
  const int n = pr.num_nodes();
  std::vector<int> rank(n);
  const std::vector<int>& topo = pr.graph().topo_order();
  for (int i = 0; i < n; ++i) rank[topo[i]] = i;
  for (auto& order : m.order) order.clear();
  for (int t = 0; t < static_cast<int>(m.device.size()); ++t) m.order[m.device[t]].push_back(t);
  for (auto& order : m.order)
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      const int da = m.delay.empty() ? 0 : m.delay[a], db = m.delay.empty() ? 0 : m.delay[b];
      return std::make_tuple(da, start[a], rank[a % n], a / n) < std::make_tuple(db, start[b], rank[b % n], b / n);
    });
}

// Whether group c on device d can exchange every tensor with its members' neighbours outside the
// group where they run now (in every lane), and its members reach the host where they must.
bool links_reach(const Problem& pr, const Mapping& m, int c, int d) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), lanes = static_cast<int>(m.device.size()) / n;
  for (int v : pr.group_members(c)) {
    if (!std::isfinite(pr.input_us(v, d)) || !std::isfinite(pr.output_us(v, d))) return false;
    for (int l = 0; l < lanes; ++l) {
      for (int e : g.in_edges(v)) {
        const int u = g.edges[e].src;
        if (pr.group_of(u) != c && !std::isfinite(pr.comm_us(e, m.device[l * n + u], d))) return false;
      }
      for (int e : g.out_edges(v)) {
        const int w = g.edges[e].dst;
        if (pr.group_of(w) != c && !std::isfinite(pr.comm_us(e, d, m.device[l * n + w]))) return false;
      }
    }
  }
  return true;
}

// Whether every edge of every lane has a link and every node reaches the host where it must.
bool linked(const Problem& pr, const Mapping& m) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), lanes = static_cast<int>(m.device.size()) / n;
  for (int l = 0; l < lanes; ++l) {
    for (int v = 0; v < n; ++v)
      if (!std::isfinite(pr.input_us(v, m.device[l * n + v])) || !std::isfinite(pr.output_us(v, m.device[l * n + v])))
        return false;
    for (int e = 0; e < g.num_edges(); ++e)
      if (!std::isfinite(pr.comm_us(e, m.device[l * n + g.edges[e].src], m.device[l * n + g.edges[e].dst])))
        return false;
  }
  return true;
}

}  // namespace

bool colocate(const Problem& pr, const Objective& objective, Mapping& m) {
  const int n = pr.num_nodes(), k = pr.num_devices();
  if (pr.num_groups() == 0 || n == 0) return false;
  const int tasks = static_cast<int>(m.device.size());
  const int lanes = tasks / n;
  auto split_group = [&](int c) {
    const int first = m.device[pr.group_members(c).front()];
    for (int lane = 0; lane < lanes; ++lane)
      for (int v : pr.group_members(c))
        if (m.device[lane * n + v] != first) return true;
    return false;
  };
  bool any = false;
  for (int c = 0; c < pr.num_groups() && !any; ++c) any = split_group(c);
  if (!any) return false;

  // Start times of the old decision (the order the new one keeps).
  std::vector<double> start(tasks, 0.0);
  const bool timed = objective.name() == "latency";
  if (timed) {
    if (Result<Plan> old = objective.evaluate(pr, m); old)
      for (const Placement& p : old->placements) start[p.lane * n + p.node] = p.start_us;
  }
  // Work per device, and resident bytes per device (each node once per device).
  std::vector<double> work(k, 0.0), resident = resident_bytes(pr, m.device);
  for (int t = 0; t < tasks; ++t) work[m.device[t]] += pr.cost_us(t % n, m.device[t]);
  for (int c = 0; c < pr.num_groups(); ++c) {
    if (!split_group(c)) continue;
    const std::vector<int>& members = pr.group_members(c);
    const double bytes = pr.group_resident_bytes(c);
    for (int lane = 0; lane < lanes; ++lane)
      for (int v : members) work[m.device[lane * n + v]] -= pr.cost_us(v, m.device[lane * n + v]);
    // The device that runs every member with the least work after: first one whose links reach
    // every neighbour outside the group where it runs now (and the host, where a member talks to
    // it), then one where the group's weights fit. (Resident bytes are approximate here:
    // fit_memory checks the plan.)
    int best = -1;
    std::tuple<bool, bool, double> best_key{true, true, kInf};
    for (int d = 0; d < k; ++d) {
      if (!pr.group_runs(c, d)) continue;
      double own = 0;
      for (int v : members) own += lanes * pr.cost_us(v, d);
      std::tuple<bool, bool, double> key{!links_reach(pr, m, c, d), resident[d] + bytes > pr.capacity_bytes(d),
                                         work[d] + own};
      if (best < 0 || key < best_key) best = d, best_key = key;
    }
    // Problem::build guarantees a device runs the whole group.
    for (int lane = 0; lane < lanes; ++lane)
      for (int v : members) {
        m.device[lane * n + v] = best;
        work[best] += pr.cost_us(v, best);
      }
    resident[best] += bytes;
  }
  // Where no device of some group reached all its neighbours, the groups moved leave an edge
  // without a link: any assignment that keeps groups and links (a bounded search), in every lane,
  // in topological order.
  if (!linked(pr, m))
    if (std::optional<std::vector<int>> fit = feasible_assignment(pr, kFeasibleSearchSteps)) {
      for (int t = 0; t < tasks; ++t) m.device[t] = (*fit)[t % n];
      m.delay.clear();
      std::fill(start.begin(), start.end(), 0.0);
    }
  order_by(pr, m, start);
  return true;
}

Mapping polish_groups(const Problem& pr, const SolveContext& ctx, Mapping m, double seconds) {
  const int n = pr.num_nodes(), k = pr.num_devices();
  const Objective& objective = *ctx.objective;
  if (pr.num_groups() == 0 || objective.name() != "latency" || static_cast<int>(m.device.size()) != n) return m;
  const SolveContext::Clock::time_point until =
      std::min(ctx.deadline, SolveContext::Clock::now() + std::chrono::duration_cast<SolveContext::Clock::duration>(
                                                              std::chrono::duration<double>(seconds)));
  auto out_of_time = [&] { return ctx.stopped() || SolveContext::Clock::now() >= until; };
  Result<Plan> best = objective.evaluate(pr, m);
  if (!best) return m;
  double best_value = ctx.score(*best);
  std::vector<double> mem(k, 0.0);
  for (int v = 0; v < n; ++v) mem[m.device[v]] += pr.resident_bytes(v);
  std::vector<double> start(n, 0.0);  // the best plan's start times: the order moves keep
  for (const Placement& p : best->placements) start[p.node] = p.start_us;
  for (bool improved = true; improved && !out_of_time();) {
    improved = false;
    for (int c = 0; c < pr.num_groups() && !out_of_time(); ++c) {
      const std::vector<int>& members = pr.group_members(c);
      const int from = m.device[members.front()];
      const double bytes = pr.group_resident_bytes(c);
      for (int d = 0; d < k && !out_of_time(); ++d) {
        if (d == from || mem[d] + bytes > pr.capacity_bytes(d) || !pr.group_runs(c, d)) continue;
        Mapping t = m;
        for (int v : members) t.device[v] = d;
        order_by(pr, t, start);
        Result<Plan> p = objective.evaluate(pr, t);
        if (!p) continue;
        const double value = ctx.score(*p);
        if (value < best_value * (1 - 1e-9)) {
          best_value = value;
          best = std::move(p);
          for (const Placement& q : best->placements) start[q.node] = q.start_us;
          m = std::move(t);
          mem[from] -= bytes;
          mem[d] += bytes;
          improved = true;
          break;
        }
      }
    }
  }
  return m;
}

}  // namespace diviml
