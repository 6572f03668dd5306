#include "diviml/cost/problem.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace diviml {

Result<double> roofline_us(const Node& node, const Device& device) {
  if (!node.flops && !node.bytes_accessed)
    return fail("node '" + node.id + "': no cost_us for device '" + device.name +
                "' and no flops/bytes_accessed for the cost model");
  double t = 0;
  if (node.flops && *node.flops > 0) {
    if (!device.peak_gflops)
      return fail("device '" + device.name + "': peak_gflops is needed to cost node '" + node.id + "'");
    t = std::max(t, *node.flops / (*device.peak_gflops * 1e3));
  }
  if (node.bytes_accessed && *node.bytes_accessed > 0) {
    if (!device.mem_bandwidth_gbps)
      return fail("device '" + device.name + "': mem_bandwidth_gbps is needed to cost node '" + node.id + "'");
    t = std::max(t, *node.bytes_accessed / (*device.mem_bandwidth_gbps * 1e3));
  }
  return t + device.launch_overhead_us;
}

bool Problem::can_run(int node, int device) const { return std::isfinite(cost_[node * k_ + device]); }

double Problem::comm_us(int edge, int a, int b) const {
  if (a == b) return 0.0;
  const size_t p = static_cast<size_t>(a) * k_ + b;
  return links_->latency[p] + graph_.edges[edge].bytes * links_->inv_bw[p];
}

Problem Problem::derived(Graph graph) const {
  Problem sub;
  sub.graph_ = std::move(graph);
  (void)sub.graph_.finalize();  // indices of a part of a valid graph: cannot fail
  sub.platform_ = platform_;
  sub.links_ = links_;
  sub.k_ = k_;
  sub.capacity_ = capacity_;
  const size_t cells = static_cast<size_t>(sub.graph_.num_nodes()) * k_;
  sub.cost_.assign(cells, kInf);
  sub.in_.assign(cells, 0.0);
  sub.out_.assign(cells, 0.0);
  return sub;
}

Problem Problem::with_memory(std::vector<double> capacity, std::vector<double> extra_resident) const {
  Problem p = *this;
  p.capacity_ = std::move(capacity);
  p.extra_ = std::move(extra_resident);
  return p;
}

Problem Problem::restrict(const Restriction& part) const {
  const Graph& g = graph_;
  const int k = k_;
  Graph sg;
  sg.name = g.name + ".part";
  std::vector<int> local(g.num_nodes(), -1), pin(g.num_nodes(), -1);
  for (auto [v, d] : part.pins) pin[v] = d;
  std::vector<int> origin;
  auto add = [&](int v) {
    Node c;
    c.id = g.nodes[v].id;
    c.op = g.nodes[v].op;
    local[v] = sg.add_node(std::move(c));
    origin.push_back(v);
  };
  for (const auto& source : part.sources) add(source.first);
  for (int v : part.nodes) add(v);
  const int num_sources = static_cast<int>(part.sources.size());
  for (const Edge& e : g.edges)
    if (local[e.src] >= 0 && local[e.dst] >= num_sources) sg.edges.push_back(Edge{local[e.src], local[e.dst], e.bytes});
  Problem sub = derived(std::move(sg));
  for (int i = 0; i < num_sources; ++i) sub.cost_[i * k + part.sources[i].second] = 0.0;
  for (int i = num_sources; i < sub.num_nodes(); ++i) {
    const int v = origin[i];
    for (int d = 0; d < k; ++d) {
      if (pin[v] >= 0 && pin[v] != d) continue;
      sub.cost_[i * k + d] = cost_[v * k + d];
      sub.in_[i * k + d] = in_[v * k + d];
      sub.out_[i * k + d] = out_[v * k + d];  // non-zero only at sinks, which stay sinks
    }
  }
  for (int& o : origin) o = this->origin(o);
  sub.origin_ = std::move(origin);
  return sub;
}

Problem Problem::fuse(const std::vector<std::vector<int>>& members) const {
  const Graph& g = graph_;
  const int k = k_;
  std::vector<int> group(g.num_nodes(), -1);
  Graph fg;
  fg.name = g.name + ".fused";
  for (const auto& mem : members) {
    Node c;
    c.id = g.nodes[mem.front()].id;
    c.op = g.nodes[mem.front()].op;
    for (int v : mem) group[v] = fg.num_nodes();
    fg.add_node(std::move(c));
  }
  for (const Edge& e : g.edges)
    if (group[e.src] != group[e.dst]) fg.edges.push_back(Edge{group[e.src], group[e.dst], e.bytes});
  Problem fused = derived(std::move(fg));
  std::vector<int> origin(members.size());
  for (size_t c = 0; c < members.size(); ++c) {
    const std::vector<int>& mem = members[c];
    origin[c] = this->origin(mem.front());
    for (int d = 0; d < k; ++d) {
      double t = 0;
      for (int v : mem) t += cost_[v * k + d];
      fused.cost_[c * k + d] = t;
      fused.in_[c * k + d] = in_[mem.front() * k + d];
      fused.out_[c * k + d] = g.is_sink(mem.back()) ? out_[mem.back() * k + d] : 0.0;
    }
  }
  fused.origin_ = std::move(origin);
  return fused;
}

Result<Problem> Problem::build(Graph graph, Platform platform) {
  Problem pr;
  pr.graph_ = std::move(graph);
  pr.platform_ = std::make_shared<const Platform>(std::move(platform));
  const Graph& g = pr.graph_;
  const Platform& pf = *pr.platform_;
  const int n = g.num_nodes(), k = pf.num_devices();
  pr.k_ = k;
  if (n == 0) return fail("graph '" + g.name + "': no nodes");
  // Costs are tables of nodes x devices (several of them): checked before they are allocated.
  if (static_cast<double>(n) * k > kMaxCostEntries)
    return fail("graph '" + g.name + "' (" + std::to_string(n) + " nodes) on platform '" + pf.name + "' (" +
                std::to_string(k) + " devices): " + std::to_string(static_cast<long long>(static_cast<double>(n) * k)) +
                " node-device pairs, more than the 1e8 planned for");
  pr.cost_.assign(static_cast<size_t>(n) * k, kInf);
  pr.in_.assign(static_cast<size_t>(n) * k, 0.0);
  pr.out_.assign(static_cast<size_t>(n) * k, 0.0);
  for (int i = 0; i < n; ++i) {
    const Node& v = g.nodes[i];
    for (const auto& [dev, c] : v.cost_us)
      if (pf.find(dev) < 0)
        return fail("node '" + v.id + "': cost_us names device '" + dev + "' which platform '" + pf.name +
                    "' does not have");
    bool any = false;
    for (int d = 0; d < k; ++d) {
      auto it = v.cost_us.find(pf.devices[d].name);
      double c;
      if (it != v.cost_us.end()) {
        c = it->second ? *it->second : kInf;
      } else {
        Result<double> r = roofline_us(v, pf.devices[d]);
        if (!r) return r.error();
        c = *r;
      }
      pr.cost_[i * k + d] = c;
      any = any || std::isfinite(c);
      if (v.input_bytes > 0) pr.in_[i * k + d] = pf.transfer_us(pf.host, d, v.input_bytes);
      double out = g.is_sink(i) ? v.output_bytes.value_or(0.0) : 0.0;
      if (out > 0) pr.out_[i * k + d] = pf.transfer_us(d, pf.host, out);
    }
    if (!any) return fail("node '" + v.id + "': can run on no device of platform '" + pf.name + "'");
  }
  // Colocation groups: every group must have a device that runs all its members.
  std::map<std::string, int> group_index;
  auto groups = std::make_shared<Groups>();
  groups->of.assign(n, -1);
  for (int i = 0; i < n; ++i) {
    const std::string& name = g.nodes[i].colocate;
    if (name.empty()) continue;
    auto [it, added] = group_index.emplace(name, static_cast<int>(groups->names.size()));
    if (added) {
      groups->names.push_back(name);
      groups->members.emplace_back();
    }
    groups->of[i] = it->second;
    groups->members[it->second].push_back(i);
  }
  groups->runs.assign(groups->members.size() * k, 0);
  for (size_t c = 0; c < groups->members.size(); ++c) {
    std::string why;
    bool any = false;
    for (int d = 0; d < k; ++d) {
      int blocker = -1;
      for (int v : groups->members[c])
        if (!std::isfinite(pr.cost_[v * k + d])) {
          blocker = v;
          break;
        }
      groups->runs[c * k + d] = blocker < 0;
      if (blocker < 0)
        any = true;
      else if (!any)
        why += (why.empty() ? "" : ", ") + ("'" + g.nodes[blocker].id + "' cannot run on '" + pf.devices[d].name + "'");
    }
    if (!any)
      return fail("colocate group '" + groups->names[c] + "' (" + std::to_string(groups->members[c].size()) +
                  " nodes): no device can run all its members (" + why + ")");
  }
  if (!groups->names.empty()) pr.groups_ = std::move(groups);
  auto links = std::make_shared<Links>();
  links->latency.assign(static_cast<size_t>(k) * k, 0.0);
  links->inv_bw.assign(static_cast<size_t>(k) * k, 0.0);
  for (int a = 0; a < k; ++a)
    for (int b = 0; b < k; ++b) {
      if (a == b) continue;
      auto l = pf.link(a, b);
      links->latency[a * k + b] = l ? l->latency_us : kInf;
      links->inv_bw[a * k + b] = l ? 1.0 / (l->bandwidth_gbps * 1e3) : 0.0;
    }
  pr.links_ = std::move(links);
  pr.capacity_.resize(k);
  for (int d = 0; d < k; ++d) pr.capacity_[d] = pf.devices[d].memory_bytes.value_or(kInf);
  return pr;
}

}  // namespace diviml
