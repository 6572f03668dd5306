// Multi-channel cuts: a large module as segments that few tensors cross (see split.hpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "pinned.hpp"

namespace diviml {

namespace {

// A segmentation needing more than this many solve units (an MILP solve is 1, a path DP 0.05,
// each segment 0.2 more) is not worth it: the module stays whole. It also stays whole when
// solving it whole is estimated cheaper (whole_units).
constexpr double kCutBudget = 400;

double power(int k, size_t e) { return std::pow(static_cast<double>(k), static_cast<double>(e)); }

// Solve units of the whole module (see cut_module): every boundary pair, each an MILP on the
// fused module that, past kExactModuleNodes fused nodes, usually runs to its time limit.
double whole_units(const Problem& pr, const Module& m, int exact_module_nodes) {
  const int k = pr.num_devices();
  Problem sub = module_problem(pr, m, m.entry >= 0 ? 0 : -1, -1);
  std::vector<char> fixed(sub.num_nodes(), 0);
  if (m.entry >= 0) fixed.front() = 1;
  if (m.exit >= 0) fixed.back() = 1;
  std::vector<std::vector<int>> members;
  split::fuse_chains(sub, fixed, members);
  const int free_nodes = static_cast<int>(members.size()) - (m.entry >= 0) - (m.exit >= 0);
  return (m.entry >= 0 ? k : 1) * (m.exit >= 0 ? k : 1) * (free_nodes <= exact_module_nodes ? 1.0 : 10.0);
}

}  // namespace

void cut_module(const Problem& pr, Module& m, int size_cap, int max_channels, double cut_slack,
                int exact_module_nodes) {
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
        if (p == n)
          out = std::max(out, exit_cost);
        else if (p > t && p < n)
          out = std::max(out, lp_start[p]);
      }
      lp_start[t] = out + fast(o[t]);
      suf[t] = std::max(suf[t + 1], lp_start[t]);
    }
    const double whole = suf[0];
    std::vector<char> ok(n + 1, 1);
    for (int t = 1; t < n; ++t) ok[t] = width[t] <= max_channels && pre[t] + suf[t] <= (1 + cut_slack) * whole + 1e-9;
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
  if (m.segments.size() <= 1 || best_cost > whole_units(pr, m, exact_module_nodes))
    m.segments.clear(), m.channels.clear();
}

}  // namespace diviml
