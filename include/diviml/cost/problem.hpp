// The scheduling problem every solver sees: a graph on a platform with all costs resolved.
//
// Cost of node i on device k (microseconds): the profiled `cost_us[k]` when present (null =
// cannot run, stored as +inf); otherwise the roofline
//   max(flops / (peak_gflops * 1e3), bytes_accessed / (mem_bandwidth_gbps * 1e3))
//   + launch_overhead_us.
// Transfers are delays on edges (no link contention): edge e from device a to b != a costs
// Platform::transfer_us(a, b, bytes_e). Host I/O: a node with input_bytes > 0 reads them from
// the host before it starts; a sink returns output_bytes > 0 to the host after it ends. See
// docs/cost-model.md.
#pragma once

#include <string>
#include <vector>

#include "diviml/core/result.hpp"
#include "diviml/graph/graph.hpp"
#include "diviml/platform/platform.hpp"

namespace diviml {

class Problem {
 public:
  // Resolves every cost. Fails (naming node and device) when a cost cannot be determined,
  // cost_us names a device the platform lacks, or a node can run on no device.
  static Result<Problem> build(Graph graph, Platform platform);

  const Graph& graph() const { return graph_; }
  const Platform& platform() const { return platform_; }
  int num_nodes() const { return graph_.num_nodes(); }
  int num_devices() const { return platform_.num_devices(); }

  // Compute time of node i on device k; +inf when it cannot run there.
  double cost_us(int node, int device) const { return cost_[node * k_ + device]; }
  bool can_run(int node, int device) const;
  // Delay of edge e when src runs on a and dst on b (0 when a == b, +inf without a link).
  double comm_us(int edge, int a, int b) const;
  // Host -> device k delay before node i may start (0 on the host or without input_bytes).
  double input_us(int node, int device) const { return in_[node * k_ + device]; }
  // Device k -> host delay after sink i ends (0 for non-sinks, on the host, or 0 bytes).
  double output_us(int node, int device) const { return out_[node * k_ + device]; }
  // Memory capacity of device k in bytes (+inf when unlimited) and the node's resident bytes.
  double capacity_bytes(int device) const { return capacity_[device]; }
  double param_bytes(int node) const { return graph_.nodes[node].param_bytes; }

 private:
  Graph graph_;
  Platform platform_;
  int k_ = 0;
  std::vector<double> cost_, in_, out_, capacity_;
  std::vector<double> latency_, inv_bw_;  // per ordered device pair; inf latency = no link
};

// Roofline estimate of one node on one device, microseconds; error when specs are missing.
Result<double> roofline_us(const Node& node, const Device& device);

}  // namespace diviml
