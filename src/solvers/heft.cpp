#include "diviml/solvers/heft.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <queue>

#include "diviml/objective/replay.hpp"
#include "diviml/solvers/baselines.hpp"

namespace diviml {

namespace {

double mean_finite(const std::vector<double>& xs) {
  double s = 0;
  int c = 0;
  for (double x : xs)
    if (std::isfinite(x)) s += x, ++c;
  return c ? s / c : 0.0;
}

}  // namespace

std::vector<double> heft_upward_rank(const Problem& pr) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  std::vector<double> w(n), rank(n, 0.0);
  std::vector<double> tmp;
  for (int v = 0; v < n; ++v) {
    tmp.clear();
    for (int d = 0; d < k; ++d) tmp.push_back(pr.cost_us(v, d));
    w[v] = mean_finite(tmp);
  }
  const auto& topo = g.topo_order();
  for (auto it = topo.rbegin(); it != topo.rend(); ++it) {
    int v = *it;
    double succ = 0;
    for (int e : g.out_edges(v)) {
      tmp.clear();
      for (int a = 0; a < k; ++a)
        for (int b = 0; b < k; ++b)
          if (a != b) tmp.push_back(pr.comm_us(e, a, b));
      succ = std::max(succ, mean_finite(tmp) + rank[g.edges[e].dst]);
    }
    rank[v] = w[v] + succ;
  }
  return rank;
}

std::vector<int> heft_priority(const Problem& pr) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes();
  std::vector<double> rank = heft_upward_rank(pr);
  std::vector<int> pos(n);
  for (int i = 0; i < n; ++i) pos[g.topo_order()[i]] = i;
  std::vector<int> prio(n);
  std::iota(prio.begin(), prio.end(), 0);
  // Descending rank; ties by topological position so a node never precedes its predecessor
  // (ranks of a chain with zero costs are equal).
  std::stable_sort(prio.begin(), prio.end(), [&](int a, int b) {
    if (rank[a] != rank[b]) return rank[a] > rank[b];
    return pos[a] < pos[b];
  });
  // Zero-cost tails can still put a successor first; repair by a stable topological pass
  // (Kahn's algorithm taking the ready node earliest in the rank order: n log n).
  std::vector<int> rank_pos(n), indeg(n), out;
  for (int i = 0; i < n; ++i) rank_pos[prio[i]] = i;
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;  // by rank position
  for (int v = 0; v < n; ++v)
    if ((indeg[v] = static_cast<int>(g.in_edges(v).size())) == 0) ready.push(rank_pos[v]);
  out.reserve(n);
  while (!ready.empty()) {
    const int v = prio[ready.top()];
    ready.pop();
    out.push_back(v);
    for (int e : g.out_edges(v))
      if (--indeg[g.edges[e].dst] == 0) ready.push(rank_pos[g.edges[e].dst]);
  }
  return out;
}

Result<SolverOutput> HeftSolver::run(const Problem& pr, const SolveContext&) const {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  const std::vector<int> prio = heft_priority(pr);
  // Per device: its slots, and its idle gaps of positive length before the last slot's end.
  // Insertion scans gaps, not slots, so a busy device costs log n per node (a scan over slots
  // was quadratic on graphs of 10^5 ops). The device order is the slots sorted by (start, end,
  // insertion) at the end: equal keys only for zero-length slots, a later one after.
  struct Slot {
    double start, end;
    long seq;
    int node;
    bool operator<(const Slot& o) const {
      if (start != o.start) return start < o.start;
      if (end != o.end) return end < o.end;
      return seq < o.seq;
    }
  };
  std::vector<std::vector<Slot>> busy(k);
  std::vector<std::map<double, double>> gaps(k);  // gap start -> gap end (end > start)
  std::vector<double> last_end(k, 0.0);
  std::vector<double> mem(k, 0.0), fin(n, 0.0);
  std::vector<int> dev(n, -1);
  // Colocation groups: the first member placed takes the group's device (one that runs every
  // member) and reserves the whole group's weights there; the others follow it.
  const int groups = pr.num_groups();
  std::vector<int> group_device(groups, -1);
  std::vector<double> group_bytes(groups, 0.0);
  for (int c = 0; c < groups; ++c) group_bytes[c] = pr.group_resident_bytes(c);
  auto admits = [&](int v, int d) {
    const int c = pr.group_of(v);
    if (c < 0) return pr.can_run(v, d) && mem[d] + pr.resident_bytes(v) <= pr.capacity_bytes(d);
    if (group_device[c] >= 0) return group_device[c] == d;
    return pr.group_runs(c, d) && mem[d] + group_bytes[c] <= pr.capacity_bytes(d);
  };
  long seq = 0;
  for (int v : prio) {
    double best_score = kInf, best_start = 0;
    int best_d = -1;
    for (int d = 0; d < k; ++d) {
      if (!admits(v, d)) continue;
      double ready = pr.input_us(v, d);
      for (int e : g.in_edges(v)) {
        int u = g.edges[e].src;
        ready = std::max(ready, fin[u] + pr.comm_us(e, dev[u], d));
      }
      if (!std::isfinite(ready)) continue;
      const double dur = pr.cost_us(v, d);
      // The first gap that ends after `ready` and holds the node; a zero-length op needs a
      // start strictly before the gap's end: at equal times the next op may be one of its
      // ancestors (then the order would be a cycle).
      double start = std::max(ready, last_end[d]);
      auto it = gaps[d].upper_bound(ready);
      if (it != gaps[d].begin() && std::prev(it)->second > ready) --it;
      for (; it != gaps[d].end(); ++it) {
        const double s = std::max(ready, it->first);
        if (s + dur <= it->second && s < it->second) {
          start = s;
          break;
        }
      }
      double score = start + dur + pr.output_us(v, d);
      if (score < best_score) {
        best_score = score;
        best_d = d;
        best_start = start;
      }
    }
    if (best_d < 0) {
      // Greedy placement painted itself into a corner (memory, links): search for any
      // assignment that fits, then list-schedule it in HEFT's priority order.
      std::optional<std::vector<int>> fit = feasible_assignment(pr, kFeasibleSearchSteps);
      if (!fit)
        return infeasible("heft: node '" + g.nodes[v].id +
                          "' fits on no device (memory full, no link, or it cannot run anywhere left), and a search "
                          "for any assignment that fits memory and links found none");
      SolverOutput out;
      out.mapping = mapping_from_priority(pr, *fit, prio);
      out.notes.push_back("heft: greedy placement found no device for '" + g.nodes[v].id +
                          "'; list-scheduled an assignment found by search instead");
      return out;
    }
    dev[v] = best_d;
    fin[v] = best_start + pr.cost_us(v, best_d);
    if (const int c = pr.group_of(v); c < 0) {
      mem[best_d] += pr.resident_bytes(v);
    } else if (group_device[c] < 0) {
      group_device[c] = best_d;
      mem[best_d] += group_bytes[c];
    }
    busy[best_d].push_back(Slot{best_start, fin[v], seq++, v});
    auto& free = gaps[best_d];
    if (best_start >= last_end[best_d]) {
      if (best_start > last_end[best_d]) free.emplace(last_end[best_d], best_start);
      last_end[best_d] = std::max(last_end[best_d], fin[v]);
    } else {
      // Inside a gap: split it around the new slot.
      auto g = std::prev(free.upper_bound(best_start));
      const double a = g->first, b = g->second;
      free.erase(g);
      if (best_start > a) free.emplace(a, best_start);
      if (b > fin[v]) free.emplace(fin[v], b);
    }
  }
  SolverOutput out;
  out.mapping.device = dev;
  out.mapping.order.assign(k, {});
  for (int d = 0; d < k; ++d) {
    std::sort(busy[d].begin(), busy[d].end());
    for (const Slot& s : busy[d]) out.mapping.order[d].push_back(s.node);
  }
  return out;
}

}  // namespace diviml
