#include "diviml/graph/graph.hpp"

#include <algorithm>
#include <cmath>
#include <queue>

namespace diviml {
namespace {

bool bad_size(double v) { return !std::isfinite(v) || v < 0; }

}  // namespace

int Graph::find(const std::string& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? -1 : it->second;
}

std::vector<int> Graph::consumers(int node) const {
  std::vector<int> out;
  for (int e : out_[node]) out.push_back(edges[e].dst);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

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

int Graph::add_node(Node node) {
  nodes.push_back(std::move(node));
  int idx = num_nodes() - 1;
  index_.emplace(nodes.back().id, idx);
  return idx;
}

Status Graph::add_edge(const std::string& src, const std::string& dst, std::optional<double> bytes) {
  int s = find(src), d = find(dst);
  if (s < 0) return fail("edge " + src + " -> " + dst + ": unknown node '" + src + "'");
  if (d < 0) return fail("edge " + src + " -> " + dst + ": unknown node '" + dst + "'");
  double b = bytes ? *bytes : nodes[s].output_bytes.value_or(0.0);
  edges.push_back(Edge{s, d, b});
  return {};
}

Status Graph::finalize() {
  const int n = num_nodes();
  index_.clear();
  for (int i = 0; i < n; ++i) {
    const Node& v = nodes[i];
    if (v.id.empty()) return fail("node #" + std::to_string(i) + ": empty id");
    if (!index_.emplace(v.id, i).second) return fail("node '" + v.id + "': duplicate id");
    for (const auto& [dev, c] : v.cost_us)
      if (c && bad_size(*c)) return fail("node '" + v.id + "': cost_us." + dev + " is negative or not finite");
    auto check = [&](const char* field, double x) -> Status {
      if (bad_size(x)) return fail("node '" + v.id + "': " + field + " is negative or not finite");
      return {};
    };
    for (auto [field, x] : {std::pair<const char*, std::optional<double>>{"flops", v.flops},
                            {"bytes_accessed", v.bytes_accessed},
                            {"param_bytes", v.param_bytes},
                            {"output_bytes", v.output_bytes},
                            {"input_bytes", v.input_bytes},
                            {"state_bytes", v.state_bytes},
                            {"workspace_bytes", v.workspace_bytes}})
      if (x)
        if (Status s = check(field, *x); !s) return s;
  }
  out_.assign(n, {});
  in_.assign(n, {});
  for (int e = 0; e < num_edges(); ++e) {
    const Edge& ed = edges[e];
    if (ed.src < 0 || ed.src >= n || ed.dst < 0 || ed.dst >= n)
      return fail("edge #" + std::to_string(e) + ": node index out of range");
    if (bad_size(ed.bytes))
      return fail("edge " + nodes[ed.src].id + " -> " + nodes[ed.dst].id + ": bytes is negative or not finite");
    if (ed.src == ed.dst) return fail("edge " + nodes[ed.src].id + " -> itself: cycle");
    out_[ed.src].push_back(e);
    in_[ed.dst].push_back(e);
  }
  // Kahn with a min-heap so the order is deterministic and prefers file order.
  std::vector<int> indeg(n);
  for (int i = 0; i < n; ++i) indeg[i] = static_cast<int>(in_[i].size());
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (int i = 0; i < n; ++i)
    if (indeg[i] == 0) ready.push(i);
  topo_.clear();
  while (!ready.empty()) {
    int v = ready.top();
    ready.pop();
    topo_.push_back(v);
    for (int e : out_[v])
      if (--indeg[edges[e].dst] == 0) ready.push(edges[e].dst);
  }
  if (static_cast<int>(topo_.size()) != n) {
    // Every leftover node has a leftover predecessor: walk back until a node repeats,
    // which names a node that really lies on a cycle (not just below one).
    int v = 0;
    while (indeg[v] == 0) ++v;
    std::vector<char> seen(n, 0);
    while (!seen[v]) {
      seen[v] = 1;
      for (int e : in_[v])
        if (indeg[edges[e].src] > 0) {
          v = edges[e].src;
          break;
        }
    }
    return fail("cycle through node '" + nodes[v].id + "'");
  }
  return {};
}

}  // namespace diviml
