// The operator DAG (graph file `diviml.graph/1`, docs/formats.md).
//
// Nodes and edges are held by dense index (0..n-1) after `finalize()`; the string ids of the
// file are kept for messages and output. Invariants after a successful finalize(): ids are
// unique, every edge names existing nodes, the graph is acyclic, `topo_order()` is a
// topological order that prefers lower indices (deterministic), all sizes are finite and >= 0.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "diviml/core/result.hpp"

namespace diviml {

struct Node {
  std::string id;
  std::string op;
  // Profiled latency per device name, microseconds. nullopt value = cannot run there.
  std::map<std::string, std::optional<double>> cost_us;
  std::optional<double> flops;           // floating-point operations
  std::optional<double> bytes_accessed;  // bytes read + written in device memory
  double param_bytes = 0;                // weights resident on the running device
  double state_bytes = 0;                // extension: state resident like weights (e.g. a KV cache)
  double workspace_bytes = 0;            // extension: scratch memory held while the op runs
  std::optional<double> output_bytes;    // size of the output tensor
  double input_bytes = 0;                // extension: model input read from the host before this node runs
  // extension: colocation group ("" = none). Nodes of one group run on one device (an op, its
  // backward and its weight update: the weights live in one place).
  std::string colocate;
};

struct Edge {
  int src = -1;
  int dst = -1;
  double bytes = 0;  // tensor size moved when src and dst run on different devices
};

class Graph {
 public:
  std::string name;
  int batch = 1;  // extension: samples per input (the batch the graph was exported at)
  std::vector<Node> nodes;
  std::vector<Edge> edges;

  // Builds indices and adjacency; checks ids, sizes and acyclicity. Call after editing.
  Status finalize();

  int num_nodes() const { return static_cast<int>(nodes.size()); }
  int num_edges() const { return static_cast<int>(edges.size()); }
  // Index of a node id, or -1.
  int find(const std::string& id) const;
  const std::vector<int>& out_edges(int node) const { return out_[node]; }
  const std::vector<int>& in_edges(int node) const { return in_[node]; }
  const std::vector<int>& topo_order() const { return topo_; }
  bool is_source(int node) const { return in_[node].empty(); }
  bool is_sink(int node) const { return out_[node].empty(); }
  // The distinct nodes that read `node`'s output, ascending (one entry however many edges).
  std::vector<int> consumers(int node) const;

  // Adds a node / edge by id; convenience for tests and generators (call finalize() after).
  int add_node(Node node);
  Status add_edge(const std::string& src, const std::string& dst, std::optional<double> bytes);

 private:
  std::unordered_map<std::string, int> index_;
  std::vector<std::vector<int>> out_, in_;
  std::vector<int> topo_;
};

// Split nodes (every source-to-sink path passes them), in topological order: every node before
// one is its ancestor and every node after it its descendant, so every plan runs them and the
// parts between them one after another (module splitting; the latency bound's modules). Linear
// time: in a topological order, the node at position t is a split node iff no edge jumps over
// t, no source comes after t and no sink before t.
std::vector<int> find_split_nodes(const Graph& graph);

}  // namespace diviml
