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

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "diviml/core/result.hpp"
#include "diviml/graph/graph.hpp"
#include "diviml/platform/platform.hpp"

namespace diviml {

// Most node-device pairs a problem holds (its cost tables are nodes x devices): a 100,000-op graph
// on 1,000 devices. Problem::build refuses more before it allocates.
inline constexpr double kMaxCostEntries = 1e8;

// A restricted, pinned part of a problem (what split solves per module and boundary pair).
struct Restriction {
  // (node, device): finished at time 0 on that device at no cost, with no inputs and no return
  // to the host; what the rest reads from.
  std::vector<std::pair<int, int>> sources;
  std::vector<int> nodes;                 // the nodes solved, in this order (after the sources)
  std::vector<std::pair<int, int>> pins;  // (node, device): node restricted to that device
};

class Problem {
 public:
  // Resolves every cost. Fails (naming node and device) when a cost cannot be determined,
  // cost_us names a device the platform lacks, or a node can run on no device.
  static Result<Problem> build(Graph graph, Platform platform);

  // A view of part of this problem: local nodes are the sources then `nodes` (index order),
  // edges are those between them except into sources, costs are this problem's (pins and
  // sources applied). Nothing is resolved again and the platform and link tables are shared;
  // only the part's topology is built. Resident weights are not carried (a part is solved for
  // time; memory is checked on the whole plan). `origin(v)` maps a local node back.
  Problem restrict(const Restriction& part) const;
  // This problem coarsened: local node c runs the nodes `members[c]` back to back on one
  // device (costs summed, +inf where one cannot run; host input of the first, return of the
  // last). Members must cover every node once, each list a path in topological order.
  Problem fuse(const std::vector<std::vector<int>>& members) const;
  // This problem with memory seen differently (what solve() uses to repair a plan whose
  // tensors overflow a device): per-device capacities `capacity` and, when not empty, each
  // node charged `extra_resident[v]` more resident bytes. Costs, links and origins unchanged.
  Problem with_memory(std::vector<double> capacity, std::vector<double> extra_resident) const;
  // Node of the problem this one was derived from (itself for a built problem).
  int origin(int node) const { return origin_.empty() ? node : origin_[node]; }

  const Graph& graph() const { return graph_; }
  const Platform& platform() const { return *platform_; }
  int num_nodes() const { return graph_.num_nodes(); }
  int num_devices() const { return k_; }

  // Compute time of node i on device k; +inf when it cannot run there.
  double cost_us(int node, int device) const { return cost_[node * k_ + device]; }
  bool can_run(int node, int device) const;
  // Delay of edge e when src runs on a and dst on b (0 when a == b, +inf without a link).
  double comm_us(int edge, int a, int b) const;
  // Host -> device k delay before node i may start (0 on the host or without input_bytes).
  double input_us(int node, int device) const { return in_[node * k_ + device]; }
  // Device k -> host delay after sink i ends (0 for non-sinks, on the host, or 0 bytes).
  double output_us(int node, int device) const { return out_[node * k_ + device]; }
  // Colocation groups (the graph's `colocate`, docs/formats.md): nodes of a group run on one
  // device. Kept by with_memory(); restricted and fused views have none (split solves them
  // unconstrained and the solve repairs the whole plan). group_of: -1 for a node in no group.
  int num_groups() const { return groups_ ? static_cast<int>(groups_->members.size()) : 0; }
  int group_of(int node) const { return groups_ ? groups_->of[node] : -1; }
  const std::vector<int>& group_members(int group) const { return groups_->members[group]; }
  const std::string& group_name(int group) const { return groups_->names[group]; }
  // Whether device d runs every member of the group.
  bool group_runs(int group, int device) const { return groups_->runs[static_cast<size_t>(group) * k_ + device]; }
  // The weights and state of all the group's members (what its one device holds for them).
  double group_resident_bytes(int group) const {
    double bytes = 0;
    for (int v : groups_->members[group]) bytes += resident_bytes(v);
    return bytes;
  }
  // Memory capacity of device k in bytes (+inf when unlimited) and the node's resident bytes.
  double capacity_bytes(int device) const { return capacity_[device]; }
  // Resident: the node's weights plus its state (a KV cache), held on every device that runs it
  // for the whole plan.
  double resident_bytes(int node) const {
    return graph_.nodes[node].param_bytes + graph_.nodes[node].state_bytes + (extra_.empty() ? 0.0 : extra_[node]);
  }

 private:
  struct Links {
    std::vector<double> latency, inv_bw;  // per ordered device pair; inf latency = no link
  };
  struct Groups {
    std::vector<int> of;                    // per node
    std::vector<std::vector<int>> members;  // per group, ascending
    std::vector<std::string> names;         // per group
    std::vector<char> runs;                 // per group x device: every member can run there
  };
  // A problem on `graph` sharing this one's platform, links and capacities.
  Problem derived(Graph graph) const;

  Graph graph_;
  std::shared_ptr<const Platform> platform_;
  std::shared_ptr<const Links> links_;
  std::shared_ptr<const Groups> groups_;  // null: no node is in a group
  int k_ = 0;
  std::vector<double> cost_, in_, out_, capacity_;
  std::vector<double> extra_;  // per node, added to resident_bytes; empty for none
  std::vector<int> origin_;    // empty for a built problem
};

// Roofline estimate of one node on one device, microseconds; error when specs are missing.
Result<double> roofline_us(const Node& node, const Device& device);

}  // namespace diviml
