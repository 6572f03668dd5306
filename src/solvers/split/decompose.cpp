// Split nodes and modules: where every path passes, and the parts between.
#include <algorithm>
#include <unordered_map>

#include "pinned.hpp"

namespace diviml {

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

Problem module_problem(const Problem& pr, const Module& m, int entry_device, int exit_device) {
  Restriction part;
  if (m.entry >= 0) part.sources.emplace_back(m.entry, entry_device);
  part.nodes = m.nodes;
  if (m.exit >= 0) {
    part.nodes.push_back(m.exit);
    if (exit_device >= 0) part.pins.emplace_back(m.exit, exit_device);
  }
  return pr.restrict(part);
}

}  // namespace diviml
