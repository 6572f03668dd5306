#include "diviml/solvers/m_sct.hpp"

#include <algorithm>
#include <cmath>

#include "diviml/milp/milp.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/solvers/baselines.hpp"

namespace diviml {

namespace {

// Per edge, 1 when it is a favourite link (its transfer dropped by the SCT relaxation).
constexpr int kLpEdges = 20000;

std::vector<char> favourite_links(const Problem& pr, double time_limit_s, bool& from_lp) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices(), m_edges = g.num_edges();
  std::vector<double> p(n, kInf), c(m_edges, 0.0);
  for (int v = 0; v < n; ++v)
    for (int d = 0; d < k; ++d) p[v] = std::min(p[v], pr.cost_us(v, d));
  for (int e = 0; e < m_edges; ++e) {
    double sum = 0;
    int pairs = 0;
    for (int a = 0; a < k; ++a)
      for (int b = 0; b < k; ++b)
        if (a != b && std::isfinite(pr.comm_us(e, a, b))) sum += pr.comm_us(e, a, b), ++pairs;
    c[e] = pairs ? sum / pairs : 0.0;
  }
  std::vector<double> x(m_edges, 1.0);
  from_lp = false;
  // CLP's presolve does not watch the clock (a 100k-op graph spent minutes there): the LP runs
  // on graphs of at most kLpEdges edges.
  if (time_limit_s > 0.01 && m_edges > 0 && m_edges <= kLpEdges) {
    MilpModel m;
    const int cmax = m.add_var(0, kInf, 1.0, false, "cmax");
    std::vector<int> s(n), xe(m_edges);
    for (int v = 0; v < n; ++v) s[v] = m.add_var(0, kInf, 0, false);
    for (int e = 0; e < m_edges; ++e) xe[e] = m.add_var(0, 1, 0, false);
    for (int e = 0; e < m_edges; ++e) {
      const Edge& ed = g.edges[e];  // s_j - s_i - c x >= p_i
      m.add_row({{s[ed.dst], 1.0}, {s[ed.src], -1.0}, {xe[e], -c[e]}}, p[ed.src], kInf);
    }
    for (int v = 0; v < n; ++v) {
      m.add_row({{cmax, 1.0}, {s[v], -1.0}}, p[v], kInf);
      for (const auto* side : {&g.out_edges(v), &g.in_edges(v)}) {
        if (side->size() < 2) continue;
        std::vector<std::pair<int, double>> row;
        for (int e : *side) row.push_back({xe[e], 1.0});
        m.add_row(std::move(row), static_cast<double>(side->size()) - 1, kInf);
      }
    }
    MilpOptions opt;
    opt.relax = true;
    opt.time_limit_s = time_limit_s;
    auto r = make_cbc_backend()->solve(m, opt);
    if (r && static_cast<int>(r->x.size()) == m.num_vars()) {
      for (int e = 0; e < m_edges; ++e) x[e] = r->x[xe[e]];
      from_lp = true;
    }
  }
  if (!from_lp)  // each node's heaviest outgoing edge
    for (int v = 0; v < n; ++v) {
      int best = -1;
      for (int e : g.out_edges(v))
        if (best < 0 || g.edges[e].bytes > g.edges[best].bytes) best = e;
      if (best >= 0) x[best] = 0.0;
    }
  // At most one favourite child per node and one favourite parent per node, least x first.
  std::vector<int> by(m_edges);
  for (int e = 0; e < m_edges; ++e) by[e] = e;
  std::stable_sort(by.begin(), by.end(), [&](int a, int b) { return x[a] < x[b]; });
  std::vector<char> fav(m_edges, 0), has_child(n, 0), has_parent(n, 0);
  for (int e : by) {
    if (x[e] >= 0.5) break;
    const Edge& ed = g.edges[e];
    if (has_child[ed.src] || has_parent[ed.dst]) continue;
    fav[e] = 1, has_child[ed.src] = 1, has_parent[ed.dst] = 1;
  }
  return fav;
}

}  // namespace

Result<SolverOutput> MSctSolver::run(const Problem& pr, const SolveContext& ctx) const {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  SolverOutput out;
  bool from_lp = false;
  const std::vector<char> fav = favourite_links(pr, std::min(10.0, 0.1 * ctx.seconds_left()), from_lp);
  if (!from_lp)
    out.notes.push_back(g.num_edges() > kLpEdges
                            ? "m-sct: over " + std::to_string(kLpEdges) +
                                  " edges, no LP; favourite links are the heaviest out-edges"
                            : std::string("m-sct: no LP answer in time; favourite links are the heaviest out-edges"));
  std::vector<int> parent(n, -1);  // favourite parent
  for (int e = 0; e < g.num_edges(); ++e)
    if (fav[e]) parent[g.edges[e].dst] = g.edges[e].src;
  const std::vector<int>& topo = g.topo_order();
  std::vector<int> pos(n), device(n, -1), waiting(n), order;
  for (int i = 0; i < n; ++i) pos[topo[i]] = i;
  std::vector<double> end(n, 0.0), free(k, 0.0), mem(k, 0.0);
  std::vector<int> ready;
  for (int v = 0; v < n; ++v)
    if ((waiting[v] = static_cast<int>(g.in_edges(v).size())) == 0) ready.push_back(v);
  auto start_on = [&](int v, int d) {
    if (!pr.can_run(v, d) || mem[d] + pr.resident_bytes(v) > pr.capacity_bytes(d)) return kInf;
    if (!std::isfinite(pr.output_us(v, d))) return kInf;
    double t = std::max(free[d], pr.input_us(v, d));
    for (int e : g.in_edges(v)) t = std::max(t, end[g.edges[e].src] + pr.comm_us(e, device[g.edges[e].src], d));
    return t;
  };
  bool stuck = false, late = false;
  while (!ready.empty()) {
    // Past the deadline (the ready list can hold thousands of nodes: each step scans it), the
    // remaining nodes go in topological order, each where it starts earliest.
    if (!late && ctx.stopped()) {
      late = true;
      out.notes.push_back("m-sct: time limit reached; the remaining nodes went in topological order");
    }
    int best_v = -1, best_d = -1, best_i = -1;
    double best = kInf;
    if (late) {
      int first = 0;
      for (size_t i = 1; i < ready.size(); ++i)
        if (pos[ready[i]] < pos[ready[first]]) first = static_cast<int>(i);
      std::swap(ready[first], ready.back());
    }
    for (size_t i = late ? ready.size() - 1 : 0; i < ready.size(); ++i) {
      const int v = ready[i];
      // A favourite child stays with its parent where that device can take it.
      const int home = parent[v] >= 0 ? device[parent[v]] : -1;
      const bool kept = home >= 0 && std::isfinite(start_on(v, home));
      for (int d = 0; d < k; ++d) {
        if (kept && d != home) continue;
        const double t = start_on(v, d);
        if (!std::isfinite(t)) continue;
        if (t < best || (t == best && (pos[v] < pos[best_v] || (v == best_v && d < best_d))))
          best = t, best_v = v, best_d = d, best_i = static_cast<int>(i);
      }
    }
    if (best_v < 0) {
      stuck = true;
      break;
    }
    ready.erase(ready.begin() + best_i);
    device[best_v] = best_d;
    end[best_v] = best + pr.cost_us(best_v, best_d);
    free[best_d] = end[best_v];
    mem[best_d] += pr.resident_bytes(best_v);
    order.push_back(best_v);
    for (int e : g.out_edges(best_v))
      if (--waiting[g.edges[e].dst] == 0) ready.push_back(g.edges[e].dst);
  }
  if (stuck) {
    std::optional<std::vector<int>> fit = feasible_assignment(pr, kFeasibleSearchSteps);
    if (!fit) return infeasible("m-sct: no assignment fits memory and links (searched)");
    out.mapping = mapping_from_priority(pr, *fit, topo);
    out.notes.push_back("m-sct: no ready node fit any device; list-scheduled an assignment found by search");
    return out;
  }
  int kept = 0;
  for (int v = 0; v < n; ++v) kept += parent[v] >= 0 && device[v] == device[parent[v]];
  out.notes.push_back("m-sct: " + std::to_string(kept) + " favourite children kept with their parent");
  out.mapping = mapping_from_priority(pr, device, order);
  return out;
}

}  // namespace diviml
