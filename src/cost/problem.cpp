#include "diviml/cost/problem.hpp"

#include <algorithm>
#include <cmath>

namespace diviml {

Result<double> roofline_us(const Node& node, const Device& device) {
  if (!node.flops && !node.bytes_accessed)
    return fail("node '" + node.id + "': no cost_us for device '" + device.name +
                "' and no flops/bytes_accessed for the cost model");
  double t = 0;
  if (node.flops && *node.flops > 0) {
    if (!device.peak_gflops)
      return fail("device '" + device.name + "': peak_gflops is needed to cost node '" +
                  node.id + "'");
    t = std::max(t, *node.flops / (*device.peak_gflops * 1e3));
  }
  if (node.bytes_accessed && *node.bytes_accessed > 0) {
    if (!device.mem_bandwidth_gbps)
      return fail("device '" + device.name + "': mem_bandwidth_gbps is needed to cost node '" +
                  node.id + "'");
    t = std::max(t, *node.bytes_accessed / (*device.mem_bandwidth_gbps * 1e3));
  }
  return t + device.launch_overhead_us;
}

bool Problem::can_run(int node, int device) const {
  return std::isfinite(cost_[node * k_ + device]);
}

double Problem::comm_us(int edge, int a, int b) const {
  if (a == b) return 0.0;
  const size_t p = static_cast<size_t>(a) * k_ + b;
  return latency_[p] + graph_.edges[edge].bytes * inv_bw_[p];
}

Result<Problem> Problem::build(Graph graph, Platform platform) {
  Problem pr;
  pr.graph_ = std::move(graph);
  pr.platform_ = std::move(platform);
  const Graph& g = pr.graph_;
  const Platform& pf = pr.platform_;
  const int n = g.num_nodes(), k = pf.num_devices();
  pr.k_ = k;
  if (n == 0) return fail("graph '" + g.name + "': no nodes");
  pr.cost_.assign(static_cast<size_t>(n) * k, kInf);
  pr.in_.assign(static_cast<size_t>(n) * k, 0.0);
  pr.out_.assign(static_cast<size_t>(n) * k, 0.0);
  for (int i = 0; i < n; ++i) {
    const Node& v = g.nodes[i];
    for (const auto& [dev, c] : v.cost_us)
      if (pf.find(dev) < 0)
        return fail("node '" + v.id + "': cost_us names device '" + dev +
                    "' which platform '" + pf.name + "' does not have");
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
  pr.latency_.assign(static_cast<size_t>(k) * k, 0.0);
  pr.inv_bw_.assign(static_cast<size_t>(k) * k, 0.0);
  for (int a = 0; a < k; ++a)
    for (int b = 0; b < k; ++b) {
      if (a == b) continue;
      auto l = pf.link(a, b);
      pr.latency_[a * k + b] = l ? l->latency_us : kInf;
      pr.inv_bw_[a * k + b] = l ? 1.0 / (l->bandwidth_gbps * 1e3) : 0.0;
    }
  pr.capacity_.resize(k);
  for (int d = 0; d < k; ++d) pr.capacity_[d] = pf.devices[d].memory_bytes.value_or(kInf);
  return pr;
}

}  // namespace diviml
