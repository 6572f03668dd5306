#include "diviml/solvers/moves.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <queue>
#include <random>

#include "diviml/objective/memory.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/throughput.hpp"

namespace diviml {

namespace {

constexpr int kMaxBranch = 12;
constexpr int kMaxFailedKicks = 200;

// The branches worth moving whole: per node s, s and the nodes after it whose every input
// comes from the set, grown in topological order up to kMaxBranch nodes (an inception branch,
// a chain), where that is two nodes or more and none is colocated.
std::vector<std::vector<int>> branches_of(const Problem& pr) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes();
  const auto& topo = g.topo_order();
  std::vector<int> pos(n);
  for (int i = 0; i < n; ++i) pos[topo[i]] = i;
  std::vector<std::vector<int>> out;
  std::vector<char> in(n, 0);
  std::vector<int> seen(n, -1);
  for (int s : topo) {
    if (pr.group_of(s) >= 0) continue;
    std::vector<int> set{s};
    in[s] = 1;
    std::priority_queue<std::pair<int, int>, std::vector<std::pair<int, int>>, std::greater<>> next;
    auto offer = [&](int v) {
      for (int e : g.out_edges(v)) {
        const int w = g.edges[e].dst;
        if (seen[w] != s) seen[w] = s, next.push({pos[w], w});
      }
    };
    offer(s);
    // Popped in topological order, so every input of a candidate that could join has joined.
    while (!next.empty() && static_cast<int>(set.size()) < kMaxBranch) {
      const int u = next.top().second;
      next.pop();
      bool inside = pr.group_of(u) < 0;
      for (int e : g.in_edges(u)) inside = inside && in[g.edges[e].src];
      if (!inside) continue;
      in[u] = 1;
      set.push_back(u);
      offer(u);
    }
    for (int v : set) in[v] = 0;
    if (set.size() >= 2) out.push_back(std::move(set));
  }
  return out;
}

// A list schedule of the mapping's devices: whenever a device is free, it runs the node with
// the longest remaining path (transfers and host output included) among those whose inputs are
// there, else the one whose inputs come first. Empty when `stop` says so first.
std::vector<std::vector<int>> rebuilt_orders(const Problem& pr, const Mapping& m, const std::function<bool()>& stop) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  const auto& topo = g.topo_order();
  std::vector<double> rank(n, 0.0);
  for (auto it = topo.rbegin(); it != topo.rend(); ++it) {
    const int v = *it, d = m.device[v];
    double tail = pr.output_us(v, d);
    for (int e : g.out_edges(v)) {
      const int w = g.edges[e].dst;
      tail = std::max(tail, pr.comm_us(e, d, m.device[w]) + rank[w]);
    }
    rank[v] = pr.cost_us(v, d) + tail;
  }
  std::vector<int> waiting(n);
  std::vector<double> ready(n);
  std::vector<std::vector<int>> candidates(k);
  for (int v = 0; v < n; ++v) {
    waiting[v] = static_cast<int>(g.in_edges(v).size());
    ready[v] = pr.input_us(v, m.device[v]);
    if (waiting[v] == 0) candidates[m.device[v]].push_back(v);
  }
  std::vector<double> free_at(k, 0.0);
  std::vector<std::vector<int>> order(k);
  for (int step = 0; step < n; ++step) {
    if (step % 1024 == 1023 && stop()) return {};
    int best_d = -1;
    size_t best_i = 0;
    double best_start = kInf, best_rank = -kInf;
    for (int d = 0; d < k; ++d) {
      const auto& c = candidates[d];
      for (size_t i = 0; i < c.size(); ++i) {
        const double s = std::max(free_at[d], ready[c[i]]);
        if (s < best_start - 1e-9 || (s <= best_start + 1e-9 && rank[c[i]] > best_rank))
          best_d = d, best_i = i, best_start = s, best_rank = rank[c[i]];
      }
    }
    if (best_d < 0) return {};  // cannot happen for an acyclic graph
    const int v = candidates[best_d][best_i];
    candidates[best_d].erase(candidates[best_d].begin() + static_cast<long>(best_i));
    order[best_d].push_back(v);
    const double end = best_start + pr.cost_us(v, best_d);
    free_at[best_d] = end;
    for (int e : g.out_edges(v)) {
      const int w = g.edges[e].dst;
      ready[w] = std::max(ready[w], end + pr.comm_us(e, best_d, m.device[w]));
      if (--waiting[w] == 0) candidates[m.device[w]].push_back(w);
    }
  }
  return order;
}

}  // namespace

Mapping improve_by_moves(const Problem& pr, Mapping m, double time_limit_s, MoveCounts* counts, double floor_us,
                         double kicks_until_s) {
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed_s = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  double best = kInf;  // the current plan's makespan (set below)
  // Out of time, or the plan meets the proven floor (nothing can beat it).
  const std::function<bool()> stop = [&] { return best <= floor_us * (1 + 1e-9) || elapsed_s() > time_limit_s; };
  MoveCounts kept;
  if (counts) *counts = kept;
  auto plan = replay(pr, m);
  if (!plan) return m;
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  // Moves are kept when they lower (makespan, sum of node ends) lexicographically: the second
  // term lets the search cross plateaus where the makespan does not move yet.
  auto total_end = [](const Plan& p) {
    double t = 0;
    for (const Placement& pl : p.placements) t += pl.end_us;
    return t;
  };
  // (makespan, sum of ends) below (than, than_total), lexicographically.
  auto lowers = [](double makespan, double total, double than, double than_total) {
    const bool lower = makespan < than * (1 - 1e-9);
    const bool level = !lower && makespan <= than * (1 + 1e-12);
    return lower || (level && total < than_total * (1 - 1e-9));
  };
  bool limited = false;
  for (int d = 0; d < k; ++d) limited |= std::isfinite(pr.capacity_bytes(d));
  auto peak_of = [&](const Plan& p) { return limited ? memory_profile(pr, p).peak_bytes : std::vector<double>{}; };
  // The search's state follows m's plan `p`: its times, (makespan, sum of ends), the weights
  // per device, and its memory peaks (a move may not exceed them where they overflow).
  double best_total = 0;
  std::vector<double> start(n), end(n), mem, allowed;
  auto stand_on = [&](const Plan& p, double makespan, std::vector<double> peak) {
    for (const Placement& pl : p.placements) start[pl.node] = pl.start_us, end[pl.node] = pl.end_us;
    best = makespan;
    best_total = total_end(p);
    mem = resident_bytes(pr, m.device);
    allowed = std::move(peak);
  };
  stand_on(*plan, plan->makespan_us, peak_of(*plan));

  // Keeps `t` (consumed) when it replays, lowers the pair, and keeps memory within capacity
  // (or within the peak the start already had where that overflowed).
  // `force`: kept whatever it costs (a kick), as long as it replays and fits.
  auto keep = [&](Mapping& t, bool force = false) {
    auto p = replay(pr, t);
    if (!p) return false;
    if (!force && !lowers(p->makespan_us, total_end(*p), best, best_total)) return false;
    std::vector<double> peak = peak_of(*p);
    for (int d = 0; d < k && limited; ++d)
      if (peak[d] > std::max(pr.capacity_bytes(d), allowed[d])) return false;
    m = std::move(t);
    stand_on(*p, force ? p->makespan_us : std::min(best, p->makespan_us), std::move(peak));
    return true;
  };

  // `set` (in topological order) onto device d: each node into d's order just before the
  // first other node that starts no earlier than its inputs can arrive, after the set's
  // previous node. False when some node cannot run there, receive its inputs, or fit.
  std::vector<char> inside(n, 0);
  std::vector<double> est(n, 0.0);
  auto try_move = [&](const std::vector<int>& set, int d, bool force = false) {
    double bytes = 0;
    for (int v : set) {
      if (m.device[v] == d || !pr.can_run(v, d)) return false;
      bytes += pr.resident_bytes(v);
    }
    if (mem[d] + bytes > pr.capacity_bytes(d)) return false;
    Mapping t = m;
    for (int v : set) {
      auto& o = t.order[t.device[v]];
      o.erase(std::find(o.begin(), o.end(), v));
      t.device[v] = d;
      inside[v] = 1;
    }
    auto& dst = t.order[d];
    size_t from = 0;
    bool ok = true;
    for (int v : set) {
      double ready = pr.input_us(v, d);
      for (int e : g.in_edges(v)) {
        const int u = g.edges[e].src;
        const double c = pr.comm_us(e, t.device[u], d);
        ok = ok && std::isfinite(c);
        ready = std::max(ready, (inside[u] ? est[u] : end[u]) + c);
      }
      if (!ok) break;
      est[v] = ready + pr.cost_us(v, d);
      auto at =
          std::find_if(dst.begin() + static_cast<long>(from), dst.end(), [&](int w) { return start[w] >= ready; });
      from = static_cast<size_t>(at - dst.begin()) + 1;
      dst.insert(at, v);
    }
    for (int v : set) inside[v] = 0;
    return ok && keep(t, force);
  };

  // When inputs reach node v on its device (host input included).
  auto data_ready = [&](int v) {
    double r = pr.input_us(v, m.device[v]);
    for (int e : g.in_edges(v)) {
      const int u = g.edges[e].src;
      r = std::max(r, end[u] + pr.comm_us(e, m.device[u], m.device[v]));
    }
    return r;
  };

  const std::vector<std::vector<int>> branches = branches_of(pr);
  auto descend = [&] {
    for (bool improved = true; improved && !stop();) {
      improved = false;
      for (int v : g.topo_order()) {
        if (stop()) break;
        if (pr.group_of(v) >= 0) continue;  // a colocated node moves only with its group
        for (int d = 0; d < k; ++d)
          if (try_move({v}, d)) {
            ++kept.nodes, improved = true;
            break;
          }
      }
      for (const auto& b : branches) {
        if (stop()) break;
        for (int d = 0; d < k; ++d)
          if (try_move(b, d)) {
            ++kept.branches, improved = true;
            break;
          }
      }
      if (stop()) break;
      if (auto order = rebuilt_orders(pr, m, stop); !order.empty()) {
        Mapping t = m;
        t.order = std::move(order);
        if (keep(t)) ++kept.resequenced, improved = true;
      }
      for (int d = 0; d < k && !stop(); ++d)
        for (size_t i = 1; i < m.order[d].size() && !stop(); ++i) {
          const int b = m.order[d][i];
          if (data_ready(b) >= start[b] - 1e-9) continue;  // b did not wait for the node before it
          Mapping t = m;
          std::swap(t.order[d][i - 1], t.order[d][i]);
          if (keep(t)) ++kept.resequenced, improved = true;
        }
    }
  };
  descend();
  // Iterated local search for the rest of the time: from the best plan, a kick of two to four
  // random moves of nodes or branches (kept whatever they cost), the descent again, and the
  // better of the two plans stays; it ends after kMaxFailedKicks kicks in a row gain nothing.
  std::vector<int> movable;
  for (int v = 0; v < n; ++v)
    if (pr.group_of(v) < 0) movable.push_back(v);
  Mapping saved = m;
  MoveCounts saved_kept = kept;
  double saved_best = best, saved_total = best_total;
  std::mt19937_64 rng(0x9e3779b97f4a7c15ULL ^ static_cast<std::uint64_t>(n));
  for (int fails = 0; k > 1 && !movable.empty() && fails < kMaxFailedKicks && !stop() && elapsed_s() < kicks_until_s;) {
    const int kicks = 2 + static_cast<int>(rng() % 3);
    for (int i = 0; i < kicks; ++i) {
      const int d = static_cast<int>(rng() % static_cast<std::uint64_t>(k));
      if (!branches.empty() && rng() % 4 == 0)
        try_move(branches[rng() % branches.size()], d, true);
      else
        try_move({movable[rng() % movable.size()]}, d, true);
    }
    descend();
    if (lowers(best, best_total, saved_best, saved_total)) {
      saved = m, saved_best = best, saved_total = best_total;
      ++kept.kicks;
      saved_kept = kept;
      fails = 0;
      continue;
    }
    ++fails;
    // Back to the best plan (it replays: it was kept before).
    m = saved;
    kept = saved_kept;
    auto p = replay(pr, m);
    stand_on(*p, p->makespan_us, peak_of(*p));
  }
  if (counts) *counts = kept;
  return m;
}

}  // namespace diviml
