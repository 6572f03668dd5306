// The module bound with memory (lower_bound.hpp, module_memory_bound_us): per module between
// the graph's split nodes, the module's time is at least each device's load in it and its
// longest path, with every node's device shares keeping the devices' resident bytes within
// their capacities; the modules' times add up.
#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <vector>

#include "diviml/milp/milp.hpp"
#include "diviml/objective/lower_bound.hpp"

namespace diviml {

double module_memory_bound_us(const Problem& pr, double time_limit_s) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  if (time_limit_s <= 0 || n == 0) return 0;
  double total = 0;
  for (int v = 0; v < n; ++v) total += pr.resident_bytes(v);
  bool binds = false;
  for (int d = 0; d < k; ++d) binds |= pr.capacity_bytes(d) < total;
  if (!binds) return 0;
  // Each node's least cost (the longest paths and the befores and afters below are by it).
  std::vector<double> cheapest(n, kInf);
  for (int v = 0; v < n; ++v) {
    for (int d = 0; d < k; ++d)
      if (pr.can_run(v, d)) cheapest[v] = std::min(cheapest[v], pr.cost_us(v, d));
    if (!std::isfinite(cheapest[v])) return 0;  // runs nowhere: the solvers say so
  }
  // Modules in topological order: each split node (graph.hpp) alone, the nodes between two
  // together.
  const auto& topo = g.topo_order();
  std::vector<char> cut(n, 0);
  for (int v : find_split_nodes(g)) cut[v] = 1;
  std::vector<int> module(n);
  int modules = 0;
  for (int i = 0; i < n; ++i) {
    const int v = topo[i];
    if (i > 0 && (cut[v] || cut[topo[i - 1]])) ++modules;
    module[v] = modules;
  }
  ++modules;
  // Per module, its longest path by least cost (edges inside the module); the first module's
  // path counts its source's input (its window is measured from time 0) and the last's its end's
  // output (measured to the makespan).
  std::vector<double> length(n, 0.0);
  std::vector<int> prev(n, -1), path_end(modules, -1);
  for (int v : topo) {
    for (int e : g.in_edges(v)) {
      const int u = g.edges[e].src;
      if (module[u] == module[v] && (prev[v] < 0 || length[u] > length[v])) length[v] = length[u], prev[v] = e;
    }
    length[v] += cheapest[v];
    int& end = path_end[module[v]];
    if (end < 0 || length[v] > length[end]) end = v;
  }
  std::vector<char> on_path(n, 0);
  std::vector<std::vector<int>> path_edges(modules);
  std::vector<int> path_start(modules, -1);
  for (int m = 0; m < modules; ++m) {
    int v = path_end[m];
    on_path[v] = 1;
    while (prev[v] >= 0) path_edges[m].push_back(prev[v]), v = g.edges[prev[v]].src, on_path[v] = 1;
    path_start[m] = v;
  }
  MilpModel lp;
  std::vector<int> time(modules);
  for (int m = 0; m < modules; ++m) time[m] = lp.add_var(0, kInf, 1.0, false);
  // Rows: per module and device its load, per module its path, per device its resident bytes.
  std::vector<std::vector<std::pair<int, double>>> load(static_cast<size_t>(modules) * k), path(modules), held(k);
  std::vector<int> x(static_cast<size_t>(n) * k, -1);
  for (int v = 0; v < n; ++v) {
    if (!on_path[v]) continue;
    const int m = module[v];
    std::vector<std::pair<int, double>> one;
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(v, d) || !std::isfinite(pr.cost_us(v, d))) continue;
      double along = pr.cost_us(v, d);
      if (m == 0 && v == path_start[m] && g.in_edges(v).empty()) along += pr.input_us(v, d);
      if (m == modules - 1 && v == path_end[m]) along += pr.output_us(v, d);
      if (!std::isfinite(along)) continue;
      const int col = x[static_cast<size_t>(v) * k + d] = lp.add_var(0, 1, 0, false);
      one.push_back({col, 1.0});
      load[static_cast<size_t>(m) * k + d].push_back({col, pr.cost_us(v, d)});
      path[m].push_back({col, along});
      if (std::isfinite(pr.capacity_bytes(d)) && pr.resident_bytes(v) > 0)
        held[d].push_back({col, pr.resident_bytes(v)});
    }
    if (one.empty()) return 0;
    lp.add_row(std::move(one), 1, 1);
  }
  // Nodes off the paths: those of one module alike (devices, costs, resident bytes) are one
  // commodity of their count (the LP splits a sum of alike nodes as freely as its parts; the
  // heads of a layer are one).
  // Each such node also lies on a path of its module: the module's time is at least the least
  // cost before it in the module, its cost where it runs, and the least after it. Over a
  // commodity that holds on average (its members' shares), with the least of their befores and
  // afters.
  std::vector<double> before(n, 0.0), after(n, 0.0);
  for (int v : topo)
    for (int e : g.in_edges(v)) {
      const int u = g.edges[e].src;
      if (module[u] == module[v]) before[v] = std::max(before[v], before[u] + cheapest[u]);
    }
  for (auto it = topo.rbegin(); it != topo.rend(); ++it)
    for (int e : g.out_edges(*it)) {
      const int w = g.edges[e].dst;
      if (module[w] == module[*it]) after[*it] = std::max(after[*it], after[w] + cheapest[w]);
    }
  struct Alike {
    int count = 0;
    double before = kInf, after = kInf;
  };
  using Kind = std::tuple<int, std::vector<double>, double>;  // module, cost per device (inf: cannot), bytes
  std::map<Kind, Alike> alike;
  for (int v = 0; v < n; ++v) {
    if (on_path[v]) continue;
    std::vector<double> cost(k, kInf);
    for (int d = 0; d < k; ++d)
      if (pr.can_run(v, d)) cost[d] = pr.cost_us(v, d);
    Alike& a = alike[{module[v], std::move(cost), pr.resident_bytes(v)}];
    ++a.count, a.before = std::min(a.before, before[v]), a.after = std::min(a.after, after[v]);
  }
  for (const auto& [kind, a] : alike) {
    const auto& [m, cost, bytes] = kind;
    std::vector<std::pair<int, double>> one, through{{time[m], 1.0}};
    for (int d = 0; d < k; ++d) {
      if (!std::isfinite(cost[d])) continue;
      const int col = lp.add_var(0, a.count, 0, false);
      one.push_back({col, 1.0});
      if (cost[d] > 0) {
        load[static_cast<size_t>(m) * k + d].push_back({col, cost[d]});
        through.push_back({col, -cost[d] / a.count});
      }
      if (std::isfinite(pr.capacity_bytes(d)) && bytes > 0) held[d].push_back({col, bytes});
    }
    lp.add_row(std::move(one), a.count, a.count);
    lp.add_row(std::move(through), a.before + a.after, kInf);
  }
  // Transfers along each module's path: y_e >= x_ud - x_wd for every device (1 where u and w
  // sit apart), at the edge's cheapest transfer.
  for (int m = 0; m < modules; ++m)
    for (int e : path_edges[m]) {
      const int u = g.edges[e].src, w = g.edges[e].dst;
      double t = kInf;
      for (int a = 0; a < k; ++a)
        for (int b = 0; b < k; ++b)
          if (a != b && pr.can_run(u, a) && pr.can_run(w, b)) t = std::min(t, pr.comm_us(e, a, b));
      if (!(t > 0) || !std::isfinite(t)) continue;
      const int y = lp.add_var(0, 1, 0, false);
      path[m].push_back({y, t});
      for (int d = 0; d < k; ++d) {
        const int xu = x[static_cast<size_t>(u) * k + d], xw = x[static_cast<size_t>(w) * k + d];
        if (xu < 0) continue;  // x_ud = 0 there: the row holds
        std::vector<std::pair<int, double>> row{{y, 1.0}, {xu, -1.0}};
        if (xw >= 0) row.push_back({xw, 1.0});
        lp.add_row(std::move(row), 0, kInf);
      }
    }
  for (int m = 0; m < modules; ++m) {
    for (int d = 0; d < k; ++d) {
      auto& row = load[static_cast<size_t>(m) * k + d];
      if (row.empty()) continue;
      row.push_back({time[m], -1.0});
      lp.add_row(std::move(row), -kInf, 0);
    }
    path[m].push_back({time[m], -1.0});
    lp.add_row(std::move(path[m]), -kInf, 0);
  }
  for (int d = 0; d < k; ++d)
    if (!held[d].empty()) lp.add_row(std::move(held[d]), -kInf, pr.capacity_bytes(d));
  MilpOptions opt;
  opt.relax = true;
  opt.time_limit_s = time_limit_s;
  auto r = make_cbc_backend()->solve(lp, opt);
  if (!r || r->row_duals.empty()) return 0;
  const double bound = lagrangian_bound(lp, r->row_duals);
  return std::isfinite(bound) ? std::max(0.0, bound) : 0.0;
}

}  // namespace diviml
