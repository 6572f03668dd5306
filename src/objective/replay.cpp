#include "diviml/objective/replay.hpp"

#include <algorithm>
#include <cmath>
#include <queue>

namespace diviml {
namespace {

// One copy of a producer's tensor to a device where consumers read it: the largest of those
// edges' tensors travels, once.
struct Copy {
  int node = -1, to = -1;
  double duration = 0;
  std::vector<int> edges;  // the edges it serves
  double start = -1, end = -1;
};

// The replay where some devices' copies occupy them (overlap_comm false): a list schedule in
// time. At each step the earliest thing that can start goes: a device's next task once its
// inputs are there and the device is free, or a copy once its producer has ended and the
// devices it occupies are free; at equal times a copy goes first. Where an end occupies, copies
// are per producer and destination device (as the executor sends them); between two devices
// that overlap copies with compute, per edge, at the producer's end (as without any such
// device: an idle device elsewhere changes nothing). Copies do not contend for links; host I/O
// does not occupy devices. Fills `start`/`end` per node and returns the copies, or fails.
Result<std::vector<Copy>> schedule_occupied(const Problem& pr, const Mapping& m, std::vector<double>& start,
                                            std::vector<double>& end) {
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  const int n = pr.num_nodes(), k = pr.num_devices();
  std::vector<char> occupies(k);
  for (int d = 0; d < k; ++d) occupies[d] = pf.devices[d].overlap_comm ? 0 : 1;
  std::vector<Copy> copies;
  std::vector<std::vector<int>> copies_of(n);  // per producer
  std::vector<std::vector<int>> waits_for(n);  // per consumer: the copies it reads
  for (int u = 0; u < n; ++u) {
    for (int e : g.out_edges(u)) {
      const int v = g.edges[e].dst, a = m.device[u], b = m.device[v];
      if (a == b) continue;
      const double c = pr.comm_us(e, a, b);
      if (!std::isfinite(c))
        return fail("replay: no link from '" + pf.devices[a].name + "' to '" + pf.devices[b].name + "' for edge " +
                    g.nodes[u].id + " -> " + g.nodes[v].id);
      // One copy per producer and destination where an end's copies occupy it (the executor
      // sends the tensor once); between devices whose copies overlap compute, each edge its own.
      int id = -1;
      if (occupies[a] || occupies[b])
        for (int x : copies_of[u])
          if (copies[x].to == b) id = x;
      if (id < 0) {
        id = static_cast<int>(copies.size());
        copies.push_back(Copy{u, b, 0, {}});
        copies_of[u].push_back(id);
      }
      copies[id].duration = std::max(copies[id].duration, c);
      copies[id].edges.push_back(e);
      if (waits_for[v].empty() || waits_for[v].back() != id) waits_for[v].push_back(id);
    }
  }
  std::vector<double> free(k, 0.0);
  std::vector<size_t> head(k, 0);
  std::vector<char> done(n, 0);
  std::vector<int> pending;  // copies whose producer has ended, not yet started
  int left = n + static_cast<int>(copies.size());
  while (left > 0) {
    // The earliest task at a device's head whose inputs are all there.
    double best = kInf;
    int best_task = -1, best_copy = -1;
    for (int d = 0; d < k; ++d) {
      if (head[d] >= m.order[d].size()) continue;
      const int v = m.order[d][head[d]];
      double t = std::max(free[d], pr.input_us(v, d));
      bool ready = true;
      for (int e : g.in_edges(v)) {
        const int u = g.edges[e].src;
        if (m.device[u] != d) continue;
        if (!done[u]) ready = false;
        t = std::max(t, end[u]);
      }
      for (int id : waits_for[v]) {
        if (copies[id].end < 0) ready = false;
        t = std::max(t, copies[id].end);
      }
      if (ready && t < best) best = t, best_task = v;
    }
    for (size_t i = 0; i < pending.size(); ++i) {
      const Copy& c = copies[pending[i]];
      const int a = m.device[c.node];
      double t = end[c.node];
      if (occupies[a]) t = std::max(t, free[a]);
      if (occupies[c.to]) t = std::max(t, free[c.to]);
      // At equal times a copy goes before a task, and an earlier-listed copy before a later one.
      if (t < best || (t == best && best_copy < 0)) best = t, best_copy = static_cast<int>(i);
    }
    if (best_copy >= 0) {
      Copy& c = copies[pending[best_copy]];
      pending.erase(pending.begin() + best_copy);
      c.start = best;
      c.end = best + c.duration;
      const int a = m.device[c.node];
      if (occupies[a]) free[a] = c.end;
      if (occupies[c.to]) free[c.to] = c.end;
    } else if (best_task >= 0) {
      const int v = best_task, d = m.device[v];
      start[v] = best;
      end[v] = best + pr.cost_us(v, d);
      free[d] = end[v];
      done[v] = 1;
      ++head[d];
      for (int id : copies_of[v]) pending.push_back(id);
    } else {
      return fail("replay: the device orders deadlock (no task and no copy can start)");
    }
    --left;
  }
  return copies;
}

}  // namespace

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
  bool occupied = false;
  for (const Device& d : pr.platform().devices) occupied |= !d.overlap_comm;
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
  if (occupied) {
    // The orders are consistent (checked above); schedule copies and tasks in time.
    std::vector<double> start(n, 0.0);
    auto copies = schedule_occupied(pr, m, start, end);
    if (!copies) return copies.error();
    makespan = 0;
    for (int v = 0; v < n; ++v) {
      plan.placements[v] = Placement{v, m.device[v], start[v], end[v]};
      makespan = std::max(makespan, end[v] + pr.output_us(v, m.device[v]));
    }
    for (const Copy& c : *copies)
      for (int e : c.edges) plan.transfers.push_back(Transfer{e, m.device[c.node], c.to, c.start, c.end});
    std::sort(plan.transfers.begin(), plan.transfers.end(),
              [](const Transfer& a, const Transfer& b) { return a.edge < b.edge; });
  } else {
    for (int e = 0; e < g.num_edges(); ++e) {
      int u = g.edges[e].src, v = g.edges[e].dst;
      int a = m.device[u], b = m.device[v];
      if (a != b) plan.transfers.push_back(Transfer{e, a, b, end[u], end[u] + pr.comm_us(e, a, b)});
    }
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
