#include "diviml/objective/replay.hpp"

#include <algorithm>
#include <cmath>
#include <queue>

namespace diviml {

Result<Plan> replay(const Problem& pr, const Mapping& m) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  if (static_cast<int>(m.device.size()) != n) return fail("replay: mapping does not cover every node");
  if (static_cast<int>(m.order.size()) != k) return fail("replay: mapping has a wrong device count");
  std::vector<int> prev(n, -1), seen(n, 0);
  for (int d = 0; d < k; ++d) {
    for (size_t j = 0; j < m.order[d].size(); ++j) {
      int v = m.order[d][j];
      if (v < 0 || v >= n) return fail("replay: device order holds an unknown node");
      if (m.device[v] != d)
        return fail("replay: node '" + g.nodes[v].id + "' is ordered on a device it is not mapped to");
      if (seen[v]++) return fail("replay: node '" + g.nodes[v].id + "' is ordered twice");
      if (j > 0) prev[v] = m.order[d][j - 1];
    }
  }
  for (int v = 0; v < n; ++v) {
    int d = m.device[v];
    if (d < 0 || d >= k) return fail("replay: node '" + g.nodes[v].id + "' has no device");
    if (!seen[v]) return fail("replay: node '" + g.nodes[v].id + "' is missing from its device order");
    if (!pr.can_run(v, d))
      return fail("replay: node '" + g.nodes[v].id + "' cannot run on device '" + pr.platform().devices[d].name + "'");
  }
  // Kahn over graph edges plus device-order edges.
  std::vector<int> indeg(n, 0);
  std::vector<int> next(n, -1);
  for (int v = 0; v < n; ++v) {
    indeg[v] = static_cast<int>(g.in_edges(v).size()) + (prev[v] >= 0 ? 1 : 0);
    if (prev[v] >= 0) next[prev[v]] = v;
  }
  std::queue<int> ready;
  for (int v = 0; v < n; ++v)
    if (indeg[v] == 0) ready.push(v);
  Plan plan;
  plan.placements.assign(n, Placement{});
  std::vector<double> end(n, 0.0);
  int done = 0;
  double makespan = 0;
  while (!ready.empty()) {
    int v = ready.front();
    ready.pop();
    ++done;
    const int d = m.device[v];
    double start = pr.input_us(v, d);
    if (prev[v] >= 0) start = std::max(start, end[prev[v]]);
    for (int e : g.in_edges(v)) {
      int u = g.edges[e].src;
      double c = pr.comm_us(e, m.device[u], d);
      if (!std::isfinite(c))
        return fail("replay: no link from '" + pr.platform().devices[m.device[u]].name + "' to '" +
                    pr.platform().devices[d].name + "' for edge " + g.nodes[u].id + " -> " + g.nodes[v].id);
      start = std::max(start, end[u] + c);
    }
    if (!std::isfinite(start))
      return fail("replay: node '" + g.nodes[v].id + "' cannot receive its input from the host");
    end[v] = start + pr.cost_us(v, d);
    plan.placements[v] = Placement{v, d, start, end[v]};
    double out = pr.output_us(v, d);
    if (!std::isfinite(out)) return fail("replay: node '" + g.nodes[v].id + "' cannot return its output to the host");
    makespan = std::max(makespan, end[v] + out);
    auto release = [&](int w) {
      if (--indeg[w] == 0) ready.push(w);
    };
    for (int e : g.out_edges(v)) release(g.edges[e].dst);
    if (next[v] >= 0) release(next[v]);
  }
  if (done != n) {
    for (int v = 0; v < n; ++v)
      if (indeg[v] > 0)
        return fail("replay: the order on device '" + pr.platform().devices[m.device[v]].name +
                    "' contradicts precedence at node '" + g.nodes[v].id + "'");
  }
  const int host = pr.platform().host;
  for (int e = 0; e < g.num_edges(); ++e) {
    int u = g.edges[e].src, v = g.edges[e].dst;
    int a = m.device[u], b = m.device[v];
    if (a != b) plan.transfers.push_back(Transfer{e, a, b, end[u], end[u] + pr.comm_us(e, a, b)});
  }
  for (int v = 0; v < n; ++v) {
    int d = m.device[v];
    if (pr.input_us(v, d) > 0)
      plan.host_transfers.push_back(HostTransfer{v, false, host, d, 0.0, pr.input_us(v, d), g.nodes[v].input_bytes});
    if (pr.output_us(v, d) > 0)
      plan.host_transfers.push_back(
          HostTransfer{v, true, d, host, end[v], end[v] + pr.output_us(v, d), g.nodes[v].output_bytes.value_or(0.0)});
  }
  plan.makespan_us = makespan;
  return plan;
}

Mapping mapping_from_times(const Problem& pr, const std::vector<int>& device, const std::vector<double>& start) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes();
  std::vector<int> pos(n);
  for (int t = 0; t < n; ++t) pos[g.topo_order()[t]] = t;
  std::vector<double> mid(n);
  for (int v = 0; v < n; ++v) {
    const double c = device[v] >= 0 && device[v] < pr.num_devices() ? pr.cost_us(v, device[v]) : 0.0;
    mid[v] = start[v] + (std::isfinite(c) ? c / 2 : 0.0);
  }
  // Kahn's algorithm with a heap on (midpoint, topological position).
  auto later = [&](int a, int b) { return mid[a] != mid[b] ? mid[a] > mid[b] : pos[a] > pos[b]; };
  std::priority_queue<int, std::vector<int>, decltype(later)> ready(later);
  std::vector<int> indeg(n), priority;
  priority.reserve(n);
  for (int v = 0; v < n; ++v)
    if ((indeg[v] = static_cast<int>(g.in_edges(v).size())) == 0) ready.push(v);
  while (!ready.empty()) {
    const int v = ready.top();
    ready.pop();
    priority.push_back(v);
    for (int e : g.out_edges(v))
      if (--indeg[g.edges[e].dst] == 0) ready.push(g.edges[e].dst);
  }
  return mapping_from_priority(pr, device, priority);
}

Mapping mapping_of(const Problem& pr, const Plan& plan) {
  const int n = pr.num_nodes();
  std::vector<int> device(n, 0);
  std::vector<double> start(n, 0.0);
  for (const Placement& p : plan.placements)
    if (p.node >= 0 && p.node < n) device[p.node] = p.device, start[p.node] = p.start_us;
  return mapping_from_times(pr, device, start);
}

Mapping mapping_from_priority(const Problem& pr, const std::vector<int>& device, const std::vector<int>& priority) {
  Mapping m;
  m.device = device;
  m.order.assign(pr.num_devices(), {});
  for (int v : priority) m.order[device[v]].push_back(v);
  return m;
}

}  // namespace diviml
