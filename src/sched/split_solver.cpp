#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <thread>
#include <unordered_map>

#include "diviml/sched/bnb.hpp"
#include "diviml/sched/heuristics.hpp"
#include "diviml/sched/lower_bound.hpp"
#include "diviml/sched/replay.hpp"
#include "diviml/sched/split.hpp"

namespace diviml {

std::vector<int> find_split_nodes(const Graph& g) {
  const int n = g.num_nodes();
  const auto& topo = g.topo_order();
  std::vector<int> pos(n);
  for (int t = 0; t < n; ++t) pos[topo[t]] = t;
  // Coverage count of positions jumped over by an edge (difference array), plus the virtual
  // edges from a super-source to every source and from every sink to a super-sink.
  std::vector<int> diff(n + 1, 0);
  int last_source = 0, first_sink = n - 1;
  for (const Edge& e : g.edges) {
    int a = pos[e.src], b = pos[e.dst];
    if (b - a > 1) {
      diff[a + 1] += 1;
      diff[b] -= 1;
    }
  }
  for (int v = 0; v < n; ++v) {
    if (g.is_source(v)) last_source = std::max(last_source, pos[v]);
    if (g.is_sink(v)) first_sink = std::min(first_sink, pos[v]);
  }
  std::vector<int> splits;
  int cover = 0;
  for (int t = 0; t < n; ++t) {
    cover += diff[t];
    if (cover == 0 && t >= last_source && t <= first_sink) splits.push_back(topo[t]);
  }
  return splits;
}

namespace {

bool is_chain(const Graph& g, const Module& m) {
  std::unordered_map<int, int> local;  // node -> position in m.nodes
  for (size_t i = 0; i < m.nodes.size(); ++i) local[m.nodes[i]] = static_cast<int>(i);
  const int k = static_cast<int>(m.nodes.size());
  for (int i = 0; i < k; ++i) {
    int v = m.nodes[i];
    for (int e : g.out_edges(v)) {
      int w = g.edges[e].dst;
      bool ok = (i + 1 < k && w == m.nodes[i + 1]) || (i + 1 == k && w == m.exit && m.exit >= 0);
      if (!ok) return false;
    }
    if (i + 1 == k && m.exit < 0 && !g.is_sink(v)) return false;
    for (int e : g.in_edges(v)) {
      int u = g.edges[e].src;
      bool ok = (i > 0 && u == m.nodes[i - 1]) || (u == m.entry && m.entry >= 0);
      if (!ok) return false;
    }
    if (i > 0 && g.in_edges(v).empty()) return false;
  }
  if (m.exit >= 0)
    for (int e : g.in_edges(m.exit)) {
      int u = g.edges[e].src;
      if (!(u == m.entry || (k > 0 && u == m.nodes[k - 1]))) return false;
    }
  return true;
}

// Modules cut at the given split nodes (in topological order).
std::vector<Module> decompose_at(const Graph& g, const std::vector<int>& splits, int size_cap) {
  const int n = g.num_nodes();
  const auto& topo = g.topo_order();
  std::vector<int> pos(n);
  for (int t = 0; t < n; ++t) pos[topo[t]] = t;
  std::vector<Module> pieces;
  int prev = -1, from = 0;
  for (int s : splits) {
    Module m;
    m.entry = prev;
    m.exit = s;
    for (int t = from; t < pos[s]; ++t) m.nodes.push_back(topo[t]);
    pieces.push_back(std::move(m));
    prev = s;
    from = pos[s] + 1;
  }
  Module last;
  last.entry = prev;
  for (int t = from; t < n; ++t) last.nodes.push_back(topo[t]);
  if (!last.nodes.empty() || splits.empty()) pieces.push_back(std::move(last));
  // A graph ending in a split node (its only sink) needs a last piece for the return to the
  // host only when the sink has output bytes; the exit of the last piece carries it otherwise.
  std::vector<Module> out;
  for (Module& p : pieces) {
    if (!out.empty()) {
      Module& cur = out.back();
      if (static_cast<int>(cur.nodes.size() + 1 + p.nodes.size()) <= size_cap) {
        cur.nodes.push_back(cur.exit);
        cur.nodes.insert(cur.nodes.end(), p.nodes.begin(), p.nodes.end());
        cur.exit = p.exit;
        continue;
      }
    }
    out.push_back(std::move(p));
  }
  for (Module& m : out) m.chain = is_chain(g, m);
  return out;
}

}  // namespace

std::vector<Module> decompose(const Graph& g, int size_cap) { return decompose_at(g, find_split_nodes(g), size_cap); }

namespace {

// A part of the graph as a problem of its own: `sources` (node, device) finished at time 0 on
// that device at no cost, then `nodes` in the given order, `pins` restricting nodes to one
// device; edges between included nodes except into sources; costs copied from the parent.
Problem pinned_problem(const Problem& pr, const std::vector<std::pair<int, int>>& sources,
                       const std::vector<int>& nodes, const std::vector<std::pair<int, int>>& pins) {
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  const int k = pr.num_devices();
  Graph sg;
  sg.name = g.name + ".module";
  std::unordered_map<int, int> local, pinned(pins.begin(), pins.end());
  for (auto [v, d] : sources) {
    Node c;
    c.id = g.nodes[v].id;
    c.op = g.nodes[v].op;
    for (int x = 0; x < k; ++x)
      c.cost_us[pf.devices[x].name] = x == d ? std::optional<double>(0.0) : std::optional<double>();
    c.output_bytes = 0.0;
    local[v] = sg.add_node(std::move(c));
  }
  for (int v : nodes) {
    auto pin = pinned.find(v);
    Node c;
    c.id = g.nodes[v].id;
    c.op = g.nodes[v].op;
    for (int d = 0; d < k; ++d) {
      bool allowed = pin == pinned.end() || d == pin->second;
      double cost = pr.cost_us(v, d);
      c.cost_us[pf.devices[d].name] =
          allowed && std::isfinite(cost) ? std::optional<double>(cost) : std::optional<double>();
    }
    c.input_bytes = g.nodes[v].input_bytes;
    c.output_bytes = g.is_sink(v) ? g.nodes[v].output_bytes.value_or(0.0) : 0.0;
    local[v] = sg.add_node(std::move(c));
  }
  const int num_sources = static_cast<int>(sources.size());
  for (const Edge& e : g.edges) {
    auto a = local.find(e.src), b = local.find(e.dst);
    if (a != local.end() && b != local.end() && b->second >= num_sources)
      sg.edges.push_back(Edge{a->second, b->second, e.bytes});
  }
  (void)sg.finalize();
  auto sub = Problem::build(std::move(sg), pf);
  return std::move(*sub);  // costs are all explicit and finite or null: build cannot fail
}

}  // namespace

Problem module_problem(const Problem& pr, const Module& m, int entry_device, int exit_device) {
  std::vector<std::pair<int, int>> sources, pins;
  if (m.entry >= 0) sources.emplace_back(m.entry, entry_device);
  std::vector<int> nodes = m.nodes;
  if (m.exit >= 0) {
    nodes.push_back(m.exit);
    if (exit_device >= 0) pins.emplace_back(m.exit, exit_device);
  }
  return pinned_problem(pr, sources, nodes, pins);
}

namespace {

// Cuts may cost this much of the module's longest path (see cut_module).
constexpr double kCutSlack = 0.02;
// A segmentation needing more than this many solve units (an MILP solve is 1, a path DP 0.05,
// each segment 0.2 more) is not worth it: the module stays whole. It also stays whole when
// solving it whole is estimated cheaper (whole_units).
constexpr double kCutBudget = 400;

double power(int k, size_t e) { return std::pow(static_cast<double>(k), static_cast<double>(e)); }

Problem fuse_chains(const Problem& sub, const std::vector<char>& is_fixed, std::vector<int>& group,
                    std::vector<std::vector<int>>& members);
extern const int kExactModuleNodes;

// Solve units of the whole module (see cut_module): every boundary pair, each an MILP on the
// fused module that, past kExactModuleNodes fused nodes, usually runs to its time limit.
double whole_units(const Problem& pr, const Module& m) {
  const int k = pr.num_devices();
  Problem sub = module_problem(pr, m, m.entry >= 0 ? 0 : -1, -1);
  std::vector<char> fixed(sub.num_nodes(), 0);
  if (m.entry >= 0) fixed.front() = 1;
  if (m.exit >= 0) fixed.back() = 1;
  std::vector<int> group;
  std::vector<std::vector<int>> members;
  fuse_chains(sub, fixed, group, members);
  const int free_nodes = static_cast<int>(members.size()) - (m.entry >= 0) - (m.exit >= 0);
  return (m.entry >= 0 ? k : 1) * (m.exit >= 0 ? k : 1) * (free_nodes <= kExactModuleNodes ? 1.0 : 10.0);
}

}  // namespace

void cut_module(const Problem& pr, Module& m, int size_cap, int max_channels) {
  m.segments.clear();
  m.channels.clear();
  const int n = static_cast<int>(m.nodes.size());
  if (max_channels < 1 || n <= size_cap || m.chain) return;
  const Graph& g = pr.graph();
  const int k = pr.num_devices();
  auto fast = [&](int v) {
    double c = kInf;
    for (int d = 0; d < k; ++d) c = std::min(c, pr.cost_us(v, d));
    return c;
  };
  // Candidate orders: the topological one and the level order (by edges from the entry).
  std::unordered_map<int, int> where;
  for (int i = 0; i < n; ++i) where[m.nodes[i]] = i;
  std::vector<int> depth(n, 0);
  for (int i = 0; i < n; ++i)
    for (int e : g.in_edges(m.nodes[i])) {
      auto p = where.find(g.edges[e].src);
      if (p != where.end()) depth[i] = std::max(depth[i], depth[p->second] + 1);
    }
  std::vector<int> level(n);
  for (int i = 0; i < n; ++i) level[i] = i;
  std::stable_sort(level.begin(), level.end(), [&](int x, int y) { return depth[x] < depth[y]; });
  for (int& i : level) i = m.nodes[i];
  std::vector<std::vector<int>> orders{m.nodes};
  if (level != m.nodes) orders.push_back(level);

  double best_cost = kInf;
  for (const std::vector<int>& o : orders) {
    std::unordered_map<int, int> pos;  // entry -1, inside 0..n-1, exit n
    for (int t = 0; t < n; ++t) pos[o[t]] = t;
    if (m.entry >= 0) pos[m.entry] = -1;
    if (m.exit >= 0) pos[m.exit] = n;
    auto at = [&](int v) {
      auto it = pos.find(v);
      return it == pos.end() ? std::numeric_limits<int>::min() : it->second;
    };
    // Last consumer position of each producer (index t + 1; entry at 0).
    std::vector<int> last(n + 1, std::numeric_limits<int>::min());
    auto consumers = [&](int v, int slot) {
      for (int e : g.out_edges(v)) last[slot] = std::max(last[slot], at(g.edges[e].dst));
    };
    if (m.entry >= 0) consumers(m.entry, 0);
    for (int t = 0; t < n; ++t) consumers(o[t], t + 1);
    // Crossing producers per cut t (between o[t-1] and o[t]): position < t, last consumer >= t.
    std::vector<int> width(n + 1, 0);
    {
      std::vector<int> diff(n + 2, 0);
      for (int slot = 0; slot <= n; ++slot) {
        int p = slot - 1, l = std::min(last[slot], n);
        if (l >= p + 1 && (slot > 0 || m.entry >= 0)) diff[p + 1] += 1, diff[l + 1] -= 1;
      }
      for (int t = 0, c = 0; t <= n; ++t) c += diff[t], width[t] = c;
    }
    // Longest paths (fastest device, free transfers) ending before / starting after each cut.
    std::vector<double> lp_end(n), pre(n + 1, 0.0), lp_start(n), suf(n + 1, 0.0);
    for (int t = 0; t < n; ++t) {
      double in = 0;
      for (int e : g.in_edges(o[t])) {
        int p = at(g.edges[e].src);
        if (p >= 0 && p < n) in = std::max(in, lp_end[p]);
      }
      lp_end[t] = in + fast(o[t]);
      pre[t + 1] = std::max(pre[t], lp_end[t]);
    }
    const double exit_cost = m.exit >= 0 ? fast(m.exit) : 0.0;
    suf[n] = exit_cost;
    for (int t = n - 1; t >= 0; --t) {
      double out = 0;
      for (int e : g.out_edges(o[t])) {
        int p = at(g.edges[e].dst);
        if (p == n) out = std::max(out, exit_cost);
        else if (p > t && p < n) out = std::max(out, lp_start[p]);
      }
      lp_start[t] = out + fast(o[t]);
      suf[t] = std::max(suf[t + 1], lp_start[t]);
    }
    const double whole = suf[0];
    std::vector<char> ok(n + 1, 1);
    for (int t = 1; t < n; ++t)
      ok[t] = width[t] <= max_channels && pre[t] + suf[t] <= (1 + kCutSlack) * whole + 1e-9;
    // Solve units of segment [i, j): pinned solves for every device combination of the channels
    // it reads and hands on, each cheap when the segment is a path.
    auto seg_cost = [&](int i, int j) {
      std::vector<int> reads;
      bool path = true;
      auto visit = [&](int v, int t) {  // t: v's position (n for the exit)
        int inner = 0;
        for (int e : g.in_edges(v)) {
          int u = g.edges[e].src, p = at(u);
          if (p < i) {
            if (std::find(reads.begin(), reads.end(), u) == reads.end()) reads.push_back(u);
          } else {
            ++inner;
            if (p != t - 1 && !(t == n && p == j - 1)) path = false;
          }
        }
        if (t > i && inner != 1) path = false;
        if (t == i && inner != 0) path = false;
      };
      int writes = 0;
      for (int t = i; t < j; ++t) {
        visit(o[t], t);
        if (j < n && last[t + 1] >= j) ++writes;
      }
      if (j == n && m.exit >= 0) visit(m.exit, n), ++writes;
      return power(k, reads.size() + writes) * (path ? 0.05 : 1.0) + 0.2;
    };
    std::vector<double> dp(n + 1, kInf);
    std::vector<int> from(n + 1, -1);
    dp[0] = 0;
    for (int j = 1; j <= n; ++j) {
      if (j < n && !ok[j]) continue;
      for (int i = std::max(0, j - size_cap); i < j; ++i) {
        if ((i > 0 && !ok[i]) || !std::isfinite(dp[i])) continue;
        double c = dp[i] + seg_cost(i, j);
        if (c < dp[j]) dp[j] = c, from[j] = i;
      }
    }
    if (!(dp[n] < best_cost) || dp[n] > kCutBudget) continue;
    best_cost = dp[n];
    m.segments.clear();
    m.channels.clear();
    std::vector<int> cuts;
    for (int j = n; j > 0; j = from[j]) cuts.push_back(j);
    cuts.push_back(0);
    std::reverse(cuts.begin(), cuts.end());
    for (size_t c = 0; c + 1 < cuts.size(); ++c) {
      m.segments.emplace_back(o.begin() + cuts[c], o.begin() + cuts[c + 1]);
      int t = cuts[c + 1];
      if (t == n) break;
      std::vector<int> crossing;
      if (m.entry >= 0 && last[0] >= t) crossing.push_back(m.entry);
      for (int p = 0; p < t; ++p)
        if (last[p + 1] >= t) crossing.push_back(o[p]);
      m.channels.push_back(std::move(crossing));
    }
  }
  // Cut only where that is cheaper than solving the module whole.
  if (m.segments.size() <= 1 || best_cost > whole_units(pr, m)) m.segments.clear(), m.channels.clear();
}

namespace {

// One pinned-boundary solve of a module: its time from the end of the entry to the end of the
// exit (or of the graph), a bound, and its schedule in module-local node indices (the module
// problem's numbering, entry first when present).
struct PinnedSolve {
  double time_us = kInf;
  double bound_us = kInf;
  bool proven = false;
  bool pruned = false;  // cannot lie on an optimal sequence (bounds), so it needs no proof
  std::vector<int> device;              // per local node
  std::vector<std::vector<int>> order;  // per device, local nodes
  std::vector<std::string> trouble;     // CBC children that crashed or were killed on the way
};

// The notes of a sub-solve that say a CBC child crashed, was killed or was retried: the final
// plan names them (a pinned solve's fallback must not pass in silence).
std::vector<std::string> cbc_trouble(const Plan& plan) {
  std::vector<std::string> out;
  for (const std::string& note : plan.notes)
    if (note.find("crashed") != std::string::npos || note.find("killed") != std::string::npos ||
        note.find("without preprocessing") != std::string::npos)
      out.push_back(note);
  return out;
}

// Whether the nodes after the first `s` (the pinned sources) form a path v_s -> v_s+1 -> ...
// in index order that only sources skip into, with nothing returned to the host before its end.
bool path_shaped(const Problem& sub, int s) {
  const Graph& g = sub.graph();
  const int n = g.num_nodes();
  if (n <= s) return false;
  for (int v = s; v < n; ++v) {
    int inner_in = 0;
    for (int e : g.in_edges(v)) {
      int u = g.edges[e].src;
      if (u < s) continue;
      if (u != v - 1) return false;
      ++inner_in;
    }
    if (v > s && inner_in != 1) return false;
    for (int e : g.out_edges(v))
      if (g.edges[e].dst != v + 1) return false;
    if (v + 1 < n)
      for (int d = 0; d < sub.num_devices(); ++d)
        if (sub.output_us(v, d) > 0) return false;
  }
  return true;
}

// DP over devices along a path-shaped problem (exact: nothing on it can run in parallel).
PinnedSolve path_dp(const Problem& sub, int s) {
  const Graph& g = sub.graph();
  const int n = g.num_nodes(), k = sub.num_devices();
  std::vector<int> src_dev(s, -1);
  for (int u = 0; u < s; ++u)
    for (int d = 0; d < k; ++d)
      if (sub.can_run(u, d)) src_dev[u] = d;
  std::vector<std::vector<double>> fin(n, std::vector<double>(k, kInf));
  std::vector<std::vector<int>> from(n, std::vector<int>(k, -1));
  for (int v = s; v < n; ++v)
    for (int d = 0; d < k; ++d) {
      if (!sub.can_run(v, d)) continue;
      double ready = sub.input_us(v, d), best = v > s ? kInf : 0.0;
      for (int e : g.in_edges(v)) {
        int u = g.edges[e].src;
        if (u < s) {
          ready = std::max(ready, sub.comm_us(e, src_dev[u], d));
          continue;
        }
        for (int d2 = 0; d2 < k; ++d2) {
          double t = fin[u][d2] + sub.comm_us(e, d2, d);
          if (t < best) best = t, from[v][d] = d2;
        }
      }
      fin[v][d] = std::max(ready, best) + sub.cost_us(v, d);
    }
  PinnedSolve r;
  int last = -1;
  for (int d = 0; d < k; ++d) {
    double t = fin[n - 1][d] + sub.output_us(n - 1, d);
    if (t < r.time_us) r.time_us = t, last = d;
  }
  if (!std::isfinite(r.time_us)) return r;
  r.bound_us = r.time_us;
  r.proven = true;
  r.device.assign(n, -1);
  r.order.assign(k, {});
  for (int u = 0; u < s; ++u) r.device[u] = src_dev[u];
  for (int v = n - 1, d = last; v >= s; d = from[v][d], --v) r.device[v] = d;
  for (int v = 0; v < n; ++v) r.order[r.device[v]].push_back(v);
  return r;
}

// Operator fusion for large modules: every maximal run u -> v -> ... in which each link is the
// only edge out of u and the only edge into v, and v is too cheap to be worth moving, becomes
// one node (costs summed per device; a
// device that cannot run one of them cannot run the fused node). The boundary nodes are never
// fused. `group` receives, per node of `sub`, its fused node; fused nodes list their members in
// order. The fused problem is a restriction (members share a device and run back to back), so
// its optimum is an upper bound for the module, not a lower one.
Problem fuse_chains(const Problem& sub, const std::vector<char>& is_fixed, std::vector<int>& group,
                    std::vector<std::vector<int>>& members) {
  const Graph& g = sub.graph();
  const int n = g.num_nodes(), k = sub.num_devices();
  auto fixed = [&](int v) { return is_fixed[v] != 0; };
  // Fuse v into u only where running v elsewhere cannot pay for moving its input there: the
  // most v could gain on another device is below the cheapest transfer of u's output. That keeps
  // BN/ReLU with their convolution and leaves conv -> conv links as decisions.
  auto links_to_next = [&](int u) {
    if (fixed(u) || g.out_edges(u).size() != 1) return -1;
    int e = g.out_edges(u)[0];
    int v = g.edges[e].dst;
    if (fixed(v) || g.in_edges(v).size() != 1) return -1;
    double lo = kInf, hi = 0, move = kInf;
    for (int d = 0; d < k; ++d) {
      if (!sub.can_run(v, d)) continue;
      lo = std::min(lo, sub.cost_us(v, d));
      hi = std::max(hi, sub.cost_us(v, d));
      for (int d2 = 0; d2 < k; ++d2)
        if (d2 != d) move = std::min(move, sub.comm_us(e, d2, d));
    }
    return hi - lo < move ? v : -1;
  };
  group.assign(n, -1);
  members.clear();
  for (int v : g.topo_order()) {
    if (group[v] >= 0) continue;
    members.push_back({v});
    group[v] = static_cast<int>(members.size()) - 1;
    for (int u = v, w; (w = links_to_next(u)) >= 0; u = w) {
      group[w] = group[v];
      members.back().push_back(w);
    }
  }
  Graph fg;
  fg.name = g.name + ".fused";
  const Platform& pf = sub.platform();
  for (const auto& mem : members) {
    Node c;
    c.id = g.nodes[mem.front()].id;
    c.op = g.nodes[mem.front()].op;
    for (int d = 0; d < k; ++d) {
      double t = 0;
      for (int v : mem) t += sub.cost_us(v, d);
      c.cost_us[pf.devices[d].name] = std::isfinite(t) ? std::optional<double>(t) : std::optional<double>();
    }
    c.input_bytes = g.nodes[mem.front()].input_bytes;
    c.output_bytes = g.is_sink(mem.back()) ? g.nodes[mem.back()].output_bytes.value_or(0.0) : 0.0;
    fg.add_node(std::move(c));
  }
  for (const Edge& e : g.edges)
    if (group[e.src] != group[e.dst]) fg.edges.push_back(Edge{group[e.src], group[e.dst], e.bytes});
  (void)fg.finalize();
  auto fused = Problem::build(std::move(fg), pf);
  return std::move(*fused);
}

// Modules with more nodes inside than this are fused before the MILP: CBC proves ~12-node
// pinned modules in well under a second, 20-node ones (an Inception module) often not in 10 s.
extern const int kExactModuleNodes = 12;
constexpr double kFusedSlack = 0.05;
// A module too large for an exact solve first gets 1/kUnfusedShare of the branch-and-bound
// budget unfused (a proof there is worth having), then the fused problem gets the full budget.
constexpr long kUnfusedShare = 40;
// Most time for the local improvement of an unproven stitched plan.
constexpr double kPolishSeconds = 0.5;

PinnedSolve from_plan(const Problem& sub, const Plan& plan) {
  PinnedSolve r;
  r.time_us = plan.makespan_us;
  r.bound_us = plan.lower_bound_us;
  r.proven = plan.status == PlanStatus::kOptimal;
  r.trouble = cbc_trouble(plan);
  Mapping mp = mapping_of(sub, plan);
  r.device = std::move(mp.device);
  r.order = std::move(mp.order);
  return r;
}

// Branch and bound from the quick plan (when given): its plan, `optimal` with the bound at the
// makespan when the search finished, else `feasible`; nothing when it found no plan.
std::optional<Plan> search_plan(const Problem& sub, const PinnedSolve* quick, double time_limit_s, long budget) {
  Mapping start;
  if (quick && !quick->device.empty()) start = Mapping{quick->device, quick->order};
  BnbResult b = branch_and_bound(sub, start.device.empty() ? nullptr : &start, time_limit_s, budget);
  if (!std::isfinite(b.makespan_us)) return std::nullopt;
  auto plan = replay(sub, b.mapping);
  if (!plan) return std::nullopt;
  plan->status = b.proven ? PlanStatus::kOptimal : PlanStatus::kFeasible;
  if (b.proven) plan->lower_bound_us = plan->makespan_us;
  return std::move(*plan);
}

// The exact solve of a (possibly fused) problem: branch and bound first, which proves small
// pinned problems in milliseconds, then the MILP where it did not finish, keeping the better.
Result<Plan> exact_plan(const Problem& sub, const PinnedSolve* quick, const SolveOptions& opt) {
  if (opt.module_bnb_expansions <= 0) return solve("milp", sub, opt);
  std::optional<Plan> searched = search_plan(sub, quick, opt.seconds_left(), opt.module_bnb_expansions);
  if (searched && searched->status == PlanStatus::kOptimal) return std::move(*searched);
  if (searched && opt.seconds_left() <= 0) return std::move(*searched);
  Result<Plan> milp = solve("milp", sub, opt.within(opt.seconds_left()));
  // The MILP starts from HEFT/fastest, not from the search's incumbent: keep the better plan
  // (with the MILP's bound, which holds for either).
  if (searched && (!milp || searched->makespan_us < milp->makespan_us)) {
    if (milp) {
      searched->lower_bound_us = std::max(searched->lower_bound_us, milp->lower_bound_us);
      for (const std::string& note : cbc_trouble(*milp)) searched->notes.push_back(note);
    }
    return std::move(*searched);
  }
  return milp;
}

// The exact pinned solve of a sub-problem (fused first when it has more than kExactModuleNodes
// nodes besides its `fixed` ones: pinned sources and pinned outputs). Its bound is 0 when fused:
// the caller keeps the quick solve's static bound of the unfused problem.
PinnedSolve exact_solve(const Problem& sub, const std::vector<char>& fixed, const SolveOptions& opt,
                        const PinnedSolve* quick = nullptr) {
  PinnedSolve r;
  const int free_nodes = sub.num_nodes() - static_cast<int>(std::count(fixed.begin(), fixed.end(), 1));
  if (free_nodes <= kExactModuleNodes) {
    auto plan = exact_plan(sub, quick, opt);
    return plan ? from_plan(sub, *plan) : r;
  }
  if (opt.module_bnb_expansions >= kUnfusedShare) {
    // Large, but a short search may still prove it unfused: an exact value and bound for the
    // pair (RegNetY's 14-16-node blocks), where fusing would only give a plan.
    auto searched = search_plan(sub, quick, opt.seconds_left() / 2, opt.module_bnb_expansions / kUnfusedShare);
    if (searched && searched->status == PlanStatus::kOptimal) return from_plan(sub, *searched);
  }
  std::vector<int> group;
  std::vector<std::vector<int>> members;
  Problem fused = fuse_chains(sub, fixed, group, members);
  auto plan = exact_plan(fused, nullptr, opt);
  if (!plan) return r;
  Mapping coarse = mapping_of(fused, *plan);
  Mapping fine;
  fine.device.assign(sub.num_nodes(), -1);
  fine.order.assign(sub.num_devices(), {});
  for (int d = 0; d < sub.num_devices(); ++d)
    for (int c : coarse.order[d])
      for (int v : members[c]) {
        fine.device[v] = d;
        fine.order[d].push_back(v);
      }
  auto replayed = replay(sub, fine);
  if (!replayed) return r;
  r.time_us = replayed->makespan_us;
  r.bound_us = 0;  // the fused optimum bounds nothing
  r.trouble = cbc_trouble(*plan);
  r.proven = members.size() == static_cast<size_t>(sub.num_nodes()) && plan->status == PlanStatus::kOptimal;
  r.device = std::move(fine.device);
  r.order = std::move(fine.order);
  return r;
}

// A quick pinned solve: DP when the problem is a path, else HEFT with the problem's static
// lower bound.
PinnedSolve quick_solve(const Problem& sub, int num_sources) {
  if (path_shaped(sub, num_sources)) return path_dp(sub, num_sources);
  PinnedSolve r;
  auto plan = solve("heft", sub, {});
  if (!plan) {
    r.bound_us = lower_bound_us(sub);
    return r;
  }
  r = from_plan(sub, *plan);
  // HEFT can lose to running everything that is not pinned on one device (no transfers at
  // all); take that plan where it is better, so pruning compares against it too.
  const int n = sub.num_nodes(), k = sub.num_devices();
  for (int d = 0; d < k; ++d) {
    std::vector<int> dev(n, d);
    bool ok = true;
    for (int v = 0; v < n && ok; ++v) {
      if (sub.can_run(v, d)) continue;
      dev[v] = -1;
      for (int x = 0; x < k; ++x)
        if (sub.can_run(v, x) && (dev[v] < 0 || sub.cost_us(v, x) < sub.cost_us(v, dev[v]))) dev[v] = x;
      ok = dev[v] >= 0;
    }
    if (!ok) continue;
    Mapping mp = mapping_from_priority(sub, dev, sub.graph().topo_order());
    auto one = replay(sub, mp);
    if (one && one->makespan_us < r.time_us) {
      r.time_us = one->makespan_us;
      r.proven = r.time_us <= r.bound_us * (1 + 1e-9);
      r.device = std::move(mp.device);
      r.order = std::move(mp.order);
    }
  }
  return r;
}

// A module's nodes in its module problem's numbering: entry, inside nodes, exit.
std::vector<int> module_nodes(const Module& m) {
  std::vector<int> nodes;
  if (m.entry >= 0) nodes.push_back(m.entry);
  nodes.insert(nodes.end(), m.nodes.begin(), m.nodes.end());
  if (m.exit >= 0) nodes.push_back(m.exit);
  return nodes;
}

// Identical modules (same costs, transfers and boundaries, node for node) share their solves.
std::string module_key(const Problem& pr, const Module& m) {
  const Graph& g = pr.graph();
  const int k = pr.num_devices();
  std::string key;
  auto put = [&](double x) { key.append(reinterpret_cast<const char*>(&x), sizeof x); };
  const std::vector<int> nodes = module_nodes(m);
  std::unordered_map<int, int> local;
  for (size_t i = 0; i < nodes.size(); ++i) local[nodes[i]] = static_cast<int>(i);
  put(m.entry >= 0 ? 1 : 0);
  put(m.exit >= 0 ? 1 : 0);
  put(static_cast<double>(nodes.size()));
  for (size_t i = 0; i < nodes.size(); ++i) {
    int v = nodes[i];
    bool is_entry = m.entry >= 0 && i == 0;
    for (int d = 0; d < k; ++d) {
      put(is_entry ? 0.0 : pr.cost_us(v, d));
      put(is_entry ? 0.0 : pr.input_us(v, d));
      put(g.is_sink(v) ? pr.output_us(v, d) : 0.0);
    }
    for (int e : g.out_edges(v)) {
      auto w = local.find(g.edges[e].dst);
      if (w == local.end()) continue;
      put(static_cast<double>(i));
      put(static_cast<double>(w->second));
      for (int x = 0; x < k; ++x)
        for (int y = 0; y < k; ++y) put(pr.comm_us(e, x, y));
    }
  }
  return key;
}

// A segment of a cut module as pinned problems: the channels it reads from the state before
// it, the ones of its nodes the state after it carries, and one solve per device combination.
struct SegmentPlan {
  std::vector<int> nodes;          // graph nodes solved in it (the module's exit last in the last)
  std::vector<int> before, after;  // state layouts: channel producers, in a fixed order
  std::vector<int> reads;          // channels of `before` with an edge into `nodes`
  std::vector<int> writes;         // nodes of `after` that are in `nodes`
  std::vector<PinnedSolve> solves;  // index: reads' devices, then writes' devices (base k)
  std::vector<char> exact;          // per solve: still needs the exact (MILP) solve
};

int digit(int index, int place, int k) {
  for (int i = 0; i < place; ++i) index /= k;
  return index % k;
}

std::vector<SegmentPlan> segment_plans(const Problem& pr, const Module& m) {
  const Graph& g = pr.graph();
  const int k = pr.num_devices();
  const size_t r = m.segments.size();
  std::vector<SegmentPlan> plans(r);
  for (size_t s = 0; s < r; ++s) {
    SegmentPlan& sp = plans[s];
    sp.nodes = m.segments[s];
    if (s + 1 == r && m.exit >= 0) sp.nodes.push_back(m.exit);
    if (s == 0) {
      if (m.entry >= 0) sp.before = {m.entry};
    } else {
      sp.before = m.channels[s - 1];
    }
    if (s + 1 == r) {
      if (m.exit >= 0) sp.after = {m.exit};
    } else {
      sp.after = m.channels[s];
    }
    for (int c : sp.before) {
      bool read = false;
      for (int e : g.out_edges(c))
        read = read || std::find(sp.nodes.begin(), sp.nodes.end(), g.edges[e].dst) != sp.nodes.end();
      if (read) sp.reads.push_back(c);
    }
    for (int c : sp.after)
      if (std::find(sp.nodes.begin(), sp.nodes.end(), c) != sp.nodes.end()) sp.writes.push_back(c);
    const int combos = static_cast<int>(power(k, sp.reads.size() + sp.writes.size()));
    sp.solves.assign(combos, PinnedSolve{});
    sp.exact.assign(combos, 0);
  }
  return plans;
}

// The pinned problem of one device combination of a segment, or nothing when a written node
// cannot run on its device.
std::optional<Problem> segment_problem(const Problem& pr, const SegmentPlan& sp, int combo,
                                       std::vector<char>* fixed) {
  const int k = pr.num_devices();
  std::vector<std::pair<int, int>> sources, pins;
  const int nr = static_cast<int>(sp.reads.size());
  for (int i = 0; i < nr; ++i) sources.emplace_back(sp.reads[i], digit(combo, i, k));
  for (size_t j = 0; j < sp.writes.size(); ++j) {
    int d = digit(combo, nr + static_cast<int>(j), k);
    if (!pr.can_run(sp.writes[j], d)) return std::nullopt;
    pins.emplace_back(sp.writes[j], d);
  }
  Problem sub = pinned_problem(pr, sources, sp.nodes, pins);
  if (fixed) {
    fixed->assign(sub.num_nodes(), 0);
    for (int i = 0; i < nr; ++i) (*fixed)[i] = 1;
    for (size_t i = 0; i < sp.nodes.size(); ++i)
      if (std::find(sp.writes.begin(), sp.writes.end(), sp.nodes[i]) != sp.writes.end()) (*fixed)[nr + i] = 1;
  }
  return sub;
}

// Every transition of a segment: state before (devices of `before`), the solve combination it
// uses, and the state after (written channels from the combination, the others passed on).
template <class F>
void transitions(const SegmentPlan& sp, int k, F&& visit) {
  const int nr = static_cast<int>(sp.reads.size()), nw = static_cast<int>(sp.writes.size());
  std::vector<int> read_at(nr), after_from(sp.after.size()), after_write(sp.after.size(), -1);
  for (int i = 0; i < nr; ++i)
    read_at[i] = static_cast<int>(std::find(sp.before.begin(), sp.before.end(), sp.reads[i]) - sp.before.begin());
  for (size_t c = 0; c < sp.after.size(); ++c) {
    auto w = std::find(sp.writes.begin(), sp.writes.end(), sp.after[c]);
    if (w != sp.writes.end()) after_write[c] = static_cast<int>(w - sp.writes.begin());
    after_from[c] = static_cast<int>(std::find(sp.before.begin(), sp.before.end(), sp.after[c]) - sp.before.begin());
  }
  const int states = static_cast<int>(power(k, sp.before.size()));
  const int read_combos = static_cast<int>(power(k, nr)), write_combos = static_cast<int>(power(k, nw));
  for (int st = 0; st < states; ++st) {
    int rin = 0;
    for (int i = nr - 1; i >= 0; --i) rin = rin * k + digit(st, read_at[i], k);
    for (int w = 0; w < write_combos; ++w) {
      int next = 0;
      for (int c = static_cast<int>(sp.after.size()) - 1; c >= 0; --c)
        next = next * k + (after_write[c] >= 0 ? digit(w, after_write[c], k) : digit(st, after_from[c], k));
      visit(st, rin + read_combos * w, next);
    }
  }
}

size_t states_before(const SegmentPlan& sp, int k) { return static_cast<size_t>(power(k, sp.before.size())); }
size_t states_after(const SegmentPlan& sp, int k) { return static_cast<size_t>(power(k, sp.after.size())); }

// Marks the segment combinations worth an exact solve, as for whole modules: one that lies on
// a sequence whose bounds (outer reach + inner path + outer rest) stay within the best quick
// plan, and whose quick times stay within kFusedSlack of it (cut modules prove nothing).
void mark_segment_solves(const Module& m, std::vector<SegmentPlan>& plans, int k, const std::vector<double>& reach_lb,
                         const std::vector<double>& rest_lb, const std::vector<double>& reach_t,
                         const std::vector<double>& rest_t, double best, double slack) {
  const size_t r = plans.size();
  auto sweeps = [&](double PinnedSolve::*value, const std::vector<double>& into, const std::vector<double>& out) {
    std::vector<std::vector<double>> fwd(r + 1), bwd(r + 1);
    fwd[0].assign(states_before(plans[0], k), kInf);
    for (size_t a = 0; a < into.size(); ++a) fwd[0][m.entry >= 0 ? a : 0] = into[a];
    for (size_t s = 0; s < r; ++s) {
      fwd[s + 1].assign(states_after(plans[s], k), kInf);
      transitions(plans[s], k, [&](int st, int combo, int next) {
        fwd[s + 1][next] = std::min(fwd[s + 1][next], fwd[s][st] + plans[s].solves[combo].*value);
      });
    }
    bwd[r].assign(states_after(plans[r - 1], k), kInf);
    for (size_t b = 0; b < out.size(); ++b) bwd[r][m.exit >= 0 ? b : 0] = out[b];
    for (size_t s = r; s-- > 0;) {
      bwd[s].assign(states_before(plans[s], k), kInf);
      transitions(plans[s], k, [&](int st, int combo, int next) {
        bwd[s][st] = std::min(bwd[s][st], plans[s].solves[combo].*value + bwd[s + 1][next]);
      });
    }
    return std::make_pair(std::move(fwd), std::move(bwd));
  };
  // Named copies, not structured bindings: lambdas below capture them (clang 14 cannot).
  const auto lower = sweeps(&PinnedSolve::bound_us, reach_lb, rest_lb);
  const auto times = sweeps(&PinnedSolve::time_us, reach_t, rest_t);
  const auto &fl = lower.first, &bl = lower.second, &ft = times.first, &bt = times.second;
  for (size_t s = 0; s < r; ++s) {
    SegmentPlan& sp = plans[s];
    transitions(sp, k, [&](int st, int combo, int next) {
      const PinnedSolve& x = sp.solves[combo];
      if (!std::isfinite(x.time_us) || x.proven) return;
      bool may = fl[s][st] + x.bound_us + bl[s + 1][next] <= best * (1 + 1e-9);
      bool promising = ft[s][st] + x.time_us + bt[s + 1][next] <= best * (1 + slack);
      if (may && promising) sp.exact[combo] = 1;
    });
  }
}

// The boundary-pair table of a cut module: for each entry device, a DP over the segments whose
// state is the devices of the crossing tensors (segments run one after another), then the
// stitched schedule replayed on the whole module (overlap across cuts can only help).
void cut_table(const Problem& pr, const Module& m, const std::vector<SegmentPlan>& plans, int rows, int cols,
               std::vector<PinnedSolve>& cells) {
  const int k = pr.num_devices();
  const size_t r = plans.size();
  const std::vector<int> nodes = module_nodes(m);
  std::unordered_map<int, int> local;
  for (size_t i = 0; i < nodes.size(); ++i) local[nodes[i]] = static_cast<int>(i);
  for (int a = 0; a < rows; ++a) {
    if (m.entry >= 0 && !pr.can_run(m.entry, a)) continue;
    std::vector<double> f(states_before(plans[0], k), kInf);
    f[m.entry >= 0 ? a : 0] = 0;
    std::vector<std::vector<std::pair<int, int>>> back(r);  // per segment and state: (state before, combo)
    for (size_t s = 0; s < r; ++s) {
      const SegmentPlan& sp = plans[s];
      std::vector<double> nf(states_after(sp, k), kInf);
      back[s].assign(nf.size(), {-1, -1});
      transitions(sp, k, [&](int st, int combo, int next) {
        const double t = sp.solves[combo].time_us;
        if (std::isfinite(f[st]) && std::isfinite(t) && f[st] + t < nf[next])
          nf[next] = f[st] + t, back[s][next] = {st, combo};
      });
      f = std::move(nf);
    }
    for (int b = 0; b < cols; ++b) {
      int st = m.exit >= 0 ? b : 0;
      if (!std::isfinite(f[st])) continue;
      Mapping fine;
      fine.device.assign(nodes.size(), -1);
      fine.order.assign(k, {});
      std::vector<int> combos(r);
      for (int s = static_cast<int>(r) - 1; s >= 0; --s) {
        combos[s] = back[s][st].second;
        st = back[s][st].first;
      }
      if (m.entry >= 0) {
        fine.device[0] = a;
        fine.order[a].push_back(0);
      }
      for (size_t s = 0; s < r; ++s) {
        const SegmentPlan& sp = plans[s];
        const PinnedSolve& x = sp.solves[combos[s]];
        const int nr = static_cast<int>(sp.reads.size());
        for (int d = 0; d < k; ++d)
          for (int l : x.order[d]) {
            if (l < nr) continue;
            int v = local.at(sp.nodes[l - nr]);
            fine.device[v] = d;
            fine.order[d].push_back(v);
          }
      }
      auto replayed = replay(module_problem(pr, m, m.entry >= 0 ? a : -1, m.exit >= 0 ? b : -1), fine);
      PinnedSolve& cell = cells[a * cols + b];
      if (!replayed || replayed->makespan_us >= cell.time_us) continue;
      cell.time_us = replayed->makespan_us;
      cell.proven = false;
      cell.device = std::move(fine.device);
      cell.order = std::move(fine.order);
    }
  }
}

}  // namespace

Result<SolverOutput> SplitSolver::run(const Problem& pr, const SolveOptions& opt) const {
  // When the deadline comes before every module has its quick plans, split has nothing to
  // stitch: the best baseline (improved by moves in what is left) is its answer, said so.
  auto baseline = [&](const std::string& why) -> Result<SolverOutput> {
    std::optional<SolverOutput> best = best_baseline(pr, opt);
    if (!best) return fail("split: " + why + ", and no baseline plan fits either");
    best->notes.insert(best->notes.begin(), "split: " + why + "; kept the best baseline");
    best->mapping = improve_by_moves(pr, std::move(best->mapping), std::min(opt.seconds_left(), kPolishSeconds));
    return std::move(*best);
  };
  const Graph& g = pr.graph();
  const int k = pr.num_devices();
  const int cap = std::max(1, opt.module_size);
  const std::vector<int> splits = find_split_nodes(g);
  std::vector<Module> modules = decompose_at(g, splits, cap);
  const int q_count = static_cast<int>(modules.size());
  // Distinct modules and the pinned solves each needs.
  std::vector<int> group(q_count);
  std::unordered_map<std::string, int> group_of;
  std::vector<int> representative;
  for (int q = 0; q < q_count; ++q) {
    auto [it, fresh] = group_of.emplace(module_key(pr, modules[q]), static_cast<int>(representative.size()));
    if (fresh) representative.push_back(q);
    group[q] = it->second;
  }
  const int groups = static_cast<int>(representative.size());
  // Multi-channel cuts for large modules (identical modules share the representative's cut).
  std::vector<std::vector<SegmentPlan>> plans(groups);
  for (int gi = 0; gi < groups; ++gi) {
    Module& m = modules[representative[gi]];
    cut_module(pr, m, cap, opt.max_channels);
    if (!m.segments.empty()) plans[gi] = segment_plans(pr, m);
  }
  for (int q = 0; q < q_count; ++q)
    if (representative[group[q]] != q && !plans[group[q]].empty()) {
      // Same structure node for node: map the representative's cut onto this module.
      const Module& rep = modules[representative[group[q]]];
      Module& m = modules[q];
      std::unordered_map<int, int> to;
      to[rep.entry] = m.entry;
      to[rep.exit] = m.exit;
      for (size_t i = 0; i < rep.nodes.size(); ++i) to[rep.nodes[i]] = m.nodes[i];
      for (const auto& seg : rep.segments) {
        m.segments.emplace_back();
        for (int v : seg) m.segments.back().push_back(to.at(v));
      }
      for (const auto& ch : rep.channels) {
        m.channels.emplace_back();
        for (int v : ch) m.channels.back().push_back(to.at(v));
      }
    }
  auto rows = [&](const Module& m) { return m.entry >= 0 ? k : 1; };
  auto cols = [&](const Module& m) { return m.exit >= 0 ? k : 1; };
  std::vector<std::vector<PinnedSolve>> table(groups);
  for (int gi = 0; gi < groups; ++gi) {
    const Module& m = modules[representative[gi]];
    table[gi].resize(static_cast<size_t>(rows(m)) * cols(m));
    for (int a = 0; a < rows(m); ++a)
      for (int b = 0; b < cols(m); ++b) {
        int ea = m.entry >= 0 ? a : -1, eb = m.exit >= 0 ? b : -1;
        if (ea >= 0 && !pr.can_run(m.entry, ea)) continue;
        if (eb >= 0 && !pr.can_run(m.exit, eb)) continue;
        if (opt.seconds_left() <= 0) return baseline("the time limit came before every module had a quick plan");
        table[gi][a * cols(m) + b] = quick_solve(module_problem(pr, m, ea, eb), m.entry >= 0 ? 1 : 0);
      }
    // Segments: every device combination gets its quick solve now (DP on paths, else HEFT).
    for (SegmentPlan& sp : plans[gi])
      for (int c = 0; c < static_cast<int>(sp.solves.size()); ++c) {
        if (opt.seconds_left() <= 0) return baseline("the time limit came before every module had a quick plan");
        auto sub = segment_problem(pr, sp, c, nullptr);
        if (!sub) continue;
        sp.solves[c] = quick_solve(*sub, static_cast<int>(sp.reads.size()));
      }
    // A cut module's quick plan: the inner DP over the quick segment solves, where better.
    if (!plans[gi].empty()) cut_table(pr, m, plans[gi], rows(m), cols(m), table[gi]);
  }
  // Prune before the MILPs: a pair (a, b) of module q can lie on an optimal sequence only if
  // the best bound to reach a, plus its own bound, plus the best bound from b to the end, does
  // not exceed the best plan the quick solves already give. The others keep their quick plan
  // (and bound); the optimum runs through solved pairs only, so exactness is kept.
  // Min-plus sweeps over the module sequence for one value of the pinned solves:
  // into[q][a] = best sum to enter module q on a, out[q][a] = best sum from there to the end.
  auto sweep = [&](double PinnedSolve::*value) {
    std::vector<std::vector<double>> into(q_count + 1), out(q_count + 1);
    into[0].assign(1, 0.0);
    for (int q = 0; q < q_count; ++q) {
      const Module& m = modules[q];
      into[q + 1].assign(cols(m), kInf);
      for (int a = 0; a < rows(m); ++a)
        for (int b = 0; b < cols(m); ++b)
          into[q + 1][b] = std::min(into[q + 1][b], into[q][a] + table[group[q]][a * cols(m) + b].*value);
    }
    out[q_count].assign(cols(modules[q_count - 1]), 0.0);
    for (int q = q_count - 1; q >= 0; --q) {
      const Module& m = modules[q];
      out[q].assign(rows(m), kInf);
      for (int a = 0; a < rows(m); ++a)
        for (int b = 0; b < cols(m); ++b)
          out[q][a] = std::min(out[q][a], table[group[q]][a * cols(m) + b].*value + out[q + 1][b]);
    }
    return std::make_pair(std::move(into), std::move(out));
  };
  auto [reach, rest] = sweep(&PinnedSolve::bound_us);
  // Fused modules are heuristic anyway (their plans prove nothing), so they also skip pairs
  // whose best quick sequence is more than kFusedSlack above the best quick plan: the exact
  // solves go where they can change the answer. Cut modules get their exact solves per segment.
  auto [reach_t, rest_t] = sweep(&PinnedSolve::time_us);
  const double quick_best = *std::min_element(reach_t[q_count].begin(), reach_t[q_count].end());
  std::vector<std::vector<char>> needed(groups);
  for (int gi = 0; gi < groups; ++gi) needed[gi].assign(table[gi].size(), 0);
  int pruned = 0;
  for (int q = 0; q < q_count; ++q) {
    const Module& m = modules[q];
    if (!plans[group[q]].empty()) {
      // Segment sums bound the cut plan, not the module: this prunes within the heuristic.
      mark_segment_solves(m, plans[group[q]], k, reach[q], rest[q + 1], reach_t[q], rest_t[q + 1], quick_best,
                          kFusedSlack);
      continue;
    }
    const bool fused = static_cast<int>(m.nodes.size()) > kExactModuleNodes;
    for (int a = 0; a < rows(m); ++a)
      for (int b = 0; b < cols(m); ++b) {
        const PinnedSolve& s = table[group[q]][a * cols(m) + b];
        if (!std::isfinite(s.bound_us) || s.proven) continue;
        bool may_be_optimal = reach[q][a] + s.bound_us + rest[q + 1][b] <= quick_best * (1 + 1e-9);
        bool promising = reach_t[q][a] + s.time_us + rest_t[q + 1][b] <= quick_best * (1 + kFusedSlack);
        if (may_be_optimal && (!fused || promising)) needed[group[q]][a * cols(m) + b] = 1;
      }
  }
  // The exact solves: module pairs and segment combinations, each writing its own cell.
  std::vector<std::function<void(const SolveOptions&)>> tasks;
  for (int gi = 0; gi < groups; ++gi) {
    const Module& m = modules[representative[gi]];
    for (int a = 0; a < rows(m); ++a)
      for (int b = 0; b < cols(m); ++b) {
        PinnedSolve& cell = table[gi][a * cols(m) + b];
        if (needed[gi][a * cols(m) + b]) {
          const int ea = m.entry >= 0 ? a : -1, eb = m.exit >= 0 ? b : -1;
          tasks.push_back([&pr, &m, &cell, ea, eb](const SolveOptions& sub_opt) {
            Problem sub = module_problem(pr, m, ea, eb);
            std::vector<char> fixed(sub.num_nodes(), 0);
            if (m.entry >= 0) fixed.front() = 1;
            if (m.exit >= 0) fixed.back() = 1;
            PinnedSolve exact = exact_solve(sub, fixed, sub_opt, &cell);
            // The MILP starts from the module's HEFT plan, so it is never worse; bounds combine.
            if (exact.time_us <= cell.time_us) {
              exact.bound_us = std::max(exact.bound_us, cell.bound_us);
              cell = std::move(exact);
            } else {
              cell.bound_us = std::max(cell.bound_us, exact.bound_us);
              cell.trouble.insert(cell.trouble.end(), exact.trouble.begin(), exact.trouble.end());
            }
          });
        } else if (plans[gi].empty() && std::isfinite(cell.bound_us) && !cell.proven) {
          // Marked pruned (no proof needed) only where bounds exclude it; a fused module is
          // never proven, so its heuristic skips cannot make a proof either.
          cell.pruned = static_cast<int>(m.nodes.size()) <= kExactModuleNodes;
          ++pruned;
        }
      }
    for (SegmentPlan& sp : plans[gi])
      for (int c = 0; c < static_cast<int>(sp.solves.size()); ++c)
        if (sp.exact[c])
          tasks.push_back([&pr, &sp, c](const SolveOptions& sub_opt) {
            std::vector<char> fixed;
            auto sub = segment_problem(pr, sp, c, &fixed);
            PinnedSolve exact = exact_solve(*sub, fixed, sub_opt, &sp.solves[c]);
            if (exact.time_us <= sp.solves[c].time_us) {
              sp.solves[c] = std::move(exact);
            } else {
              sp.solves[c].trouble.insert(sp.solves[c].trouble.end(), exact.trouble.begin(), exact.trouble.end());
            }
          });
  }
  // In parallel; each gets an even share of what is left of the time limit.
  std::atomic<size_t> next{0};
  const int workers = std::max(1, std::min<int>(opt.threads, static_cast<int>(tasks.size())));
  auto work = [&] {
    for (size_t t; (t = next.fetch_add(1)) < tasks.size();) {
      // Each gets an even share of what is left before the shared deadline; past it the
      // remaining cells keep their quick plans.
      const double left = opt.seconds_left();
      if (left <= 0) break;
      const double share = left * workers / static_cast<double>(tasks.size() - t);
      SolveOptions sub = opt.within(std::min(share, opt.module_time_limit_s));
      sub.threads = 1;
      tasks[t](sub);
    }
  };
  if (workers == 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) pool.emplace_back(work);
    for (auto& th : pool) th.join();
  }
  int cut_modules = 0;
  for (int gi = 0; gi < groups; ++gi)
    if (!plans[gi].empty()) {
      const Module& m = modules[representative[gi]];
      cut_table(pr, m, plans[gi], rows(m), cols(m), table[gi]);
      ++cut_modules;
    }
  // DP over modules on times (and, alongside, on bounds).
  std::vector<double> f(1, 0.0), fb(1, 0.0);
  std::vector<std::vector<int>> choice(q_count);
  for (int q = 0; q < q_count; ++q) {
    const Module& m = modules[q];
    const auto& tab = table[group[q]];
    std::vector<double> nf(cols(m), kInf), nfb(cols(m), kInf);
    choice[q].assign(cols(m), -1);
    for (int b = 0; b < cols(m); ++b)
      for (int a = 0; a < rows(m); ++a) {
        const PinnedSolve& s = tab[a * cols(m) + b];
        if (f[a] + s.time_us < nf[b]) nf[b] = f[a] + s.time_us, choice[q][b] = a;
        nfb[b] = std::min(nfb[b], fb[a] + s.bound_us);
      }
    f = std::move(nf);
    fb = std::move(nfb);
  }
  // The last module ends at the graph's end, or at its only sink (then on any device).
  const int last = static_cast<int>(std::min_element(f.begin(), f.end()) - f.begin());
  const double best_us = f[last], best_bound = *std::min_element(fb.begin(), fb.end());
  if (!std::isfinite(best_us))
    return baseline("no sequence of boundary devices gives a plan (a module cannot be placed)");
  // Stitch: walk back the choices, then lay each module's schedule out in module order.
  std::vector<int> boundary(q_count + 1, 0);  // boundary[q] = device of module q's entry row
  for (int q = q_count - 1, b = last; q >= 0; --q) {
    boundary[q + 1] = b;
    b = choice[q][b];
    boundary[q] = b;
  }
  SolverOutput out;
  out.mapping.device.assign(g.num_nodes(), -1);
  out.mapping.order.assign(k, {});
  bool proven = true;
  int chains = 0;
  for (int q = 0; q < q_count; ++q) {
    const Module& m = modules[q];
    const PinnedSolve& s = table[group[q]][boundary[q] * cols(m) + boundary[q + 1]];
    const std::vector<int> nodes = module_nodes(m);
    for (int d = 0; d < k; ++d)
      for (int l : s.order[d]) {
        if (m.entry >= 0 && l == 0) continue;  // placed by the previous module
        out.mapping.device[nodes[l]] = d;
        out.mapping.order[d].push_back(nodes[l]);
      }
    ModuleSummary sum;
    sum.entry = m.entry;
    sum.exit = m.exit;
    sum.size = static_cast<int>(m.nodes.size());
    sum.chain = m.chain;
    sum.fused = !m.chain && m.segments.empty() && static_cast<int>(m.nodes.size()) > kExactModuleNodes;
    sum.segments = std::max<int>(1, static_cast<int>(m.segments.size()));
    for (const auto& ch : m.channels) sum.channels = std::max<int>(sum.channels, static_cast<int>(ch.size()));
    sum.cuts = m.channels;
    sum.proven = m.segments.empty();
    for (const PinnedSolve& x : table[group[q]])
      sum.proven = sum.proven && (x.proven || x.pruned || !std::isfinite(x.time_us));
    proven = proven && sum.proven;
    chains += m.chain ? 1 : 0;
    out.modules.push_back(sum);
  }
  // Memory couples the modules; the DP ignores it, so check the stitched plan.
  std::vector<double> mem(k, 0.0);
  for (int v = 0; v < g.num_nodes(); ++v) mem[out.mapping.device[v]] += pr.param_bytes(v);
  bool fits = true;
  for (int d = 0; d < k; ++d) fits = fits && mem[d] <= pr.capacity_bytes(d);
  out.notes.push_back("split: " + std::to_string(splits.size()) + " split nodes, " + std::to_string(q_count) +
                      " modules (" + std::to_string(chains) + " chains by DP), " + std::to_string(groups) +
                      " distinct, " + std::to_string(cut_modules) + " of them cut into segments, " +
                      std::to_string(tasks.size()) +
                      " pinned exact solves (branch and bound, then the MILP where it did not finish) on " +
                      std::to_string(workers) + " thread(s) (" + std::to_string(pruned) +
                      " pruned by bounds), DP " + std::to_string(best_us) + " us");
  // Pinned solves whose CBC child crashed or was killed kept their quick plans: say so.
  std::string trouble_note;
  {
    int troubled = 0;
    std::string first;
    auto count = [&](const PinnedSolve& x) {
      if (x.trouble.empty()) return;
      if (troubled++ == 0) first = x.trouble.front();
    };
    for (const auto& tab : table)
      for (const PinnedSolve& x : tab) count(x);
    for (const auto& segs : plans)
      for (const SegmentPlan& sp : segs)
        for (const PinnedSolve& x : sp.solves) count(x);
    if (troubled > 0)
      trouble_note = "split: " + std::to_string(troubled) + " pinned solve(s) met a CBC failure, e.g. " + first;
  }
  if (!trouble_note.empty()) out.notes.push_back(trouble_note);
  if (!fits) {
    auto best = baseline("the stitched plan overflows a device's memory_bytes (modules are solved without the "
                         "global capacity)");
    if (best) {
      best->modules = std::move(out.modules);
      if (!trouble_note.empty()) best->notes.push_back(trouble_note);
    }
    return best;
  }
  out.status = proven ? PlanStatus::kOptimal : PlanStatus::kFeasible;
  if (std::isfinite(best_bound)) out.bound_us = best_bound * (1 - 1e-9);
  if (!proven) {
    // The modules were solved apart: single-node moves across them can still pay (a short
    // branch that a cut or a module boundary kept from hiding behind a long path).
    auto before = replay(pr, out.mapping);
    out.mapping = improve_by_moves(pr, std::move(out.mapping), std::min(opt.seconds_left(), kPolishSeconds));
    auto after = replay(pr, out.mapping);
    if (before && after && after->makespan_us < before->makespan_us)
      out.notes.push_back("split: single-node moves took the stitched plan from " +
                          std::to_string(before->makespan_us) + " to " + std::to_string(after->makespan_us) + " us");
  }
  return out;
}

}  // namespace diviml
