// Small fixtures shared by the unit tests: data files, inline platforms, graphs by edge list.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "diviml/cost/problem.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/milp/milp.hpp"
#include "diviml/solvers/split.hpp"
#include "support/inline_problem.hpp"

#ifndef DIVIML_TEST_DATA
#define DIVIML_TEST_DATA "tests/data"
#endif

namespace diviml::testing {

// The problem of a graph and a platform file in tests/data.
inline Problem load(const std::string& graph, const std::string& platform) {
  auto g = read_graph_file(std::string(DIVIML_TEST_DATA) + "/" + graph);
  auto p = read_platform_file(std::string(DIVIML_TEST_DATA) + "/" + platform);
  EXPECT_TRUE(g) << g.error().message;
  EXPECT_TRUE(p) << p.error().message;
  auto pr = Problem::build(*g, *p);
  EXPECT_TRUE(pr) << pr.error().message;
  return *pr;
}

// Two devices a (host) and b behind a slow default link.
inline constexpr const char* kTwo =
    R"({"host": "a", "devices": [{"name": "a", "kind": "cpu"}, {"name": "b", "kind": "gpu"}],
  "default_link": {"latency_us": 2, "bandwidth_gbps": 0.001}})";

// A CPU and a GPU with roofline specs and a memory limit on the GPU.
inline constexpr const char* kPlatform = R"({
  "format": "diviml.platform/1", "name": "p", "host": "cpu",
  "devices": [
    {"name": "cpu", "kind": "cpu", "peak_gflops": 1000, "mem_bandwidth_gbps": 100, "launch_overhead_us": 2},
    {"name": "gpu0", "kind": "gpu", "peak_gflops": 10000, "mem_bandwidth_gbps": 1000, "memory_bytes": 1000}
  ],
  "links": [{"a": "cpu", "b": "gpu0", "latency_us": 10, "bandwidth_gbps": 10}]
})";

inline std::string graph_error(const std::string& text) {
  auto g = parse_graph(text, "g.json");
  return g ? std::string("<parsed>") : g.error().message;
}

inline std::string platform_error(const std::string& text) {
  auto p = parse_platform(text, "p.json");
  return p ? std::string("<parsed>") : p.error().message;
}

// Nodes n0..n{n-1} costing 1 us on device "d", edges "a b a b ..." of 1 byte.
inline Graph chain_graph(const std::string& spec_edges, int n) {
  Graph g;
  g.name = "g";
  for (int i = 0; i < n; ++i) {
    Node node;
    node.id = "n" + std::to_string(i);
    node.op = "op";
    node.cost_us["d"] = 1.0;
    g.add_node(std::move(node));
  }
  std::stringstream in(spec_edges);
  int a, b;
  while (in >> a >> b) g.edges.push_back(Edge{a, b, 1.0});
  EXPECT_TRUE(g.finalize());
  return g;
}

inline std::set<std::string> ids(const Graph& g, const std::vector<int>& nodes) {
  std::set<std::string> out;
  for (int v : nodes) out.insert(g.nodes[v].id);
  return out;
}

// The default bundled platform.
inline Platform platform() {
  auto p = load_platform(kDefaultPlatform);
  EXPECT_TRUE(p);
  return *p;
}

// The producers placed before position t of `order` (or the module's entry) that a node at or
// after t, or the exit, reads: what crosses the cut, recomputed from the edges.
inline std::set<int> crossing(const Graph& g, const Module& m, const std::vector<int>& before) {
  std::set<int> left(before.begin(), before.end()), out;
  if (m.entry >= 0) left.insert(m.entry);
  for (const Edge& e : g.edges)
    if (left.count(e.src) && !left.count(e.dst)) out.insert(e.src);
  return out;
}

// The module with the most nodes inside.
inline Module& largest(std::vector<Module>& mods) {
  return *std::max_element(mods.begin(), mods.end(),
                           [](const Module& a, const Module& b) { return a.nodes.size() < b.nodes.size(); });
}

// Two identical devices and one link.
inline constexpr const char* kTwoDevices = R"({"format": "diviml.platform/1", "name": "two", "host": "a",
    "devices": [{"name": "a", "kind": "gpu", "peak_gflops": 1000, "mem_bandwidth_gbps": 100},
                {"name": "b", "kind": "gpu", "peak_gflops": 1000, "mem_bandwidth_gbps": 100}],
    "links": [{"a": "a", "b": "b", "latency_us": 1, "bandwidth_gbps": 10}]})";

// Nodes in (1 us), p1 p2 q1 q2 r1 r2 (10 us each), out (1 us) with the given edges ("a b").
inline Problem eight_nodes(const std::string& edges) {
  std::string json = R"({"format": "diviml.graph/1", "name": "eight", "nodes": [)";
  const char* names[] = {"in", "p1", "p2", "q1", "q2", "r1", "r2", "out"};
  for (int i = 0; i < 8; ++i) {
    int c = i == 0 || i == 7 ? 1 : 10;
    json += std::string(i ? ", " : "") + R"({"id": ")" + names[i] + R"(", "op": "x", "cost_us": {"a": )" +
            std::to_string(c) + R"(, "b": )" + std::to_string(c) + "}}";
  }
  json += R"(], "edges": [)";
  std::stringstream in(edges);
  std::string a, b;
  for (bool first = true; in >> a >> b; first = false)
    json += std::string(first ? "" : ", ") + R"({"src": ")" + a + R"(", "dst": ")" + b + R"(", "bytes": 1})";
  return inline_problem(json + "]}", kTwoDevices);
}

// A backend that always fails, as a crashed solver process does.
class BrokenBackend : public MilpBackend {
 public:
  std::string name() const override { return "broken"; }
  Result<MilpResult> solve(const MilpModel&, const MilpOptions&) const override {
    return internal_error("cbc: the solver process crashed (signal 11)");
  }
};

}  // namespace diviml::testing
