#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "diviml/io/json_io.hpp"
#include "support/fixtures.hpp"
#include "support/inline_problem.hpp"
#include "support/random_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

TEST(ProblemBuild, ProfiledCostWinsRooflineOtherwise) {
  auto p = parse_platform(kPlatform, "p.json");
  auto g = parse_graph(R"({"nodes": [
      {"id": "a", "cost_us": {"cpu": 7}, "flops": 2e6, "bytes_accessed": 1e6},
      {"id": "b", "flops": 1e3, "bytes_accessed": 1e6, "cost_us": {"gpu0": null}}]})",
                       "g.json");
  ASSERT_TRUE(p && g);
  auto pr = Problem::build(*g, *p);
  ASSERT_TRUE(pr) << pr.error().message;
  EXPECT_DOUBLE_EQ(pr->cost_us(0, 0), 7.0);                                   // profiled
  EXPECT_DOUBLE_EQ(pr->cost_us(0, 1), std::max(2e6 / 1e7, 1e6 / 1e6));        // roofline, no overhead
  EXPECT_DOUBLE_EQ(pr->cost_us(1, 0), std::max(1e3 / 1e6, 1e6 / 1e5) + 2.0);  // memory bound + launch
  EXPECT_FALSE(pr->can_run(1, 1));
}

TEST(ProblemBuild, Errors) {
  auto p = parse_platform(kPlatform, "p.json");
  auto build_error = [&](const char* graph) {
    auto g = parse_graph(graph, "g.json");
    EXPECT_TRUE(g) << g.error().message;
    auto pr = Problem::build(*g, *p);
    return pr ? std::string("<built>") : pr.error().message;
  };
  EXPECT_EQ(build_error(R"({"nodes": [{"id": "a", "cost_us": {"cpu": 1, "gpu7": 2}}]})"),
            "node 'a': cost_us names device 'gpu7' which platform 'p' does not have");
  EXPECT_EQ(build_error(R"({"nodes": [{"id": "a", "cost_us": {"cpu": null, "gpu0": null}}]})"),
            "node 'a': can run on no device of platform 'p'");
  EXPECT_EQ(build_error(R"({"nodes": [{"id": "a", "cost_us": {"cpu": 3}}]})"),
            "node 'a': no cost_us for device 'gpu0' and no flops/bytes_accessed for the cost model");
}

TEST(ProblemBuild, HostIoDelays) {
  auto p = parse_platform(kPlatform, "p.json");
  auto g = parse_graph(R"({"nodes": [{"id": "a", "cost_us": {"cpu": 1, "gpu0": 1}, "input_bytes": 1e4},
      {"id": "b", "cost_us": {"cpu": 1, "gpu0": 1}, "output_bytes": 2e4}],
      "edges": [{"src": "a", "dst": "b", "bytes": 5}]})",
                       "g.json");
  auto pr = Problem::build(*g, *p);
  ASSERT_TRUE(pr);
  EXPECT_DOUBLE_EQ(pr->input_us(0, 0), 0.0);
  EXPECT_DOUBLE_EQ(pr->input_us(0, 1), 10 + 1e4 / 1e4);
  EXPECT_DOUBLE_EQ(pr->output_us(1, 1), 10 + 2e4 / 1e4);
  EXPECT_DOUBLE_EQ(pr->output_us(0, 1), 0.0);  // not a sink
  EXPECT_DOUBLE_EQ(pr->comm_us(0, 0, 1), 10 + 5 / 1e4);
}

namespace {

// The reference for a view: the part written out as a graph file would be (the sources as
// zero-cost nodes on their device, pins as null costs elsewhere) and built from scratch.
Problem rebuilt(const Problem& pr, const Restriction& part) {
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  Graph sg;
  sg.name = "ref";
  std::vector<int> local(g.num_nodes(), -1);
  for (auto [v, d] : part.sources) {
    Node c;
    c.id = g.nodes[v].id;
    for (int x = 0; x < pr.num_devices(); ++x)
      c.cost_us[pf.devices[x].name] = x == d ? std::optional<double>(0.0) : std::nullopt;
    c.output_bytes = 0.0;
    local[v] = sg.add_node(std::move(c));
  }
  for (int v : part.nodes) {
    int pin = -1;
    for (auto [u, d] : part.pins)
      if (u == v) pin = d;
    Node c;
    c.id = g.nodes[v].id;
    for (int d = 0; d < pr.num_devices(); ++d) {
      const double cost = pr.cost_us(v, d);
      c.cost_us[pf.devices[d].name] =
          (pin < 0 || pin == d) && std::isfinite(cost) ? std::optional<double>(cost) : std::nullopt;
    }
    c.input_bytes = g.nodes[v].input_bytes;
    c.output_bytes = g.is_sink(v) ? g.nodes[v].output_bytes.value_or(0.0) : 0.0;
    local[v] = sg.add_node(std::move(c));
  }
  const int sources = static_cast<int>(part.sources.size());
  for (const Edge& e : g.edges)
    if (local[e.src] >= 0 && local[e.dst] >= sources) sg.edges.push_back(Edge{local[e.src], local[e.dst], e.bytes});
  EXPECT_TRUE(sg.finalize());
  auto built = Problem::build(std::move(sg), pf);
  EXPECT_TRUE(built) << built.error().message;
  return *built;
}

void expect_same_problem(const Problem& a, const Problem& b) {
  ASSERT_EQ(a.num_nodes(), b.num_nodes());
  ASSERT_EQ(a.graph().num_edges(), b.graph().num_edges());
  for (int v = 0; v < a.num_nodes(); ++v) {
    EXPECT_EQ(a.graph().nodes[v].id, b.graph().nodes[v].id);
    for (int d = 0; d < a.num_devices(); ++d) {
      EXPECT_EQ(a.can_run(v, d), b.can_run(v, d)) << v << " " << d;
      if (!a.can_run(v, d)) continue;
      EXPECT_DOUBLE_EQ(a.cost_us(v, d), b.cost_us(v, d));
      EXPECT_DOUBLE_EQ(a.input_us(v, d), b.input_us(v, d));
      EXPECT_DOUBLE_EQ(a.output_us(v, d), b.output_us(v, d));
    }
  }
  for (int e = 0; e < a.graph().num_edges(); ++e) {
    EXPECT_EQ(a.graph().edges[e].src, b.graph().edges[e].src);
    EXPECT_EQ(a.graph().edges[e].dst, b.graph().edges[e].dst);
    for (int x = 0; x < a.num_devices(); ++x)
      for (int y = 0; y < a.num_devices(); ++y) EXPECT_DOUBLE_EQ(a.comm_us(e, x, y), b.comm_us(e, x, y));
  }
}

}  // namespace

TEST(ProblemView, RestrictMatchesTheSamePartBuiltFromAGraph) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Problem pr = random_problem(seed, RandomSpec{9, 3, 0.35, 0.2, true, false});
    const auto& topo = pr.graph().topo_order();
    // A source, the middle of the order, and a pinned last node.
    Restriction part;
    const int source = topo[1];
    for (int d = 0; d < pr.num_devices(); ++d)
      if (pr.can_run(source, d)) {
        part.sources.emplace_back(source, d);
        break;
      }
    for (int t = 2; t < 8; ++t) part.nodes.push_back(topo[t]);
    for (int d = pr.num_devices() - 1; d >= 0; --d)
      if (pr.can_run(topo[7], d)) {
        part.pins.emplace_back(topo[7], d);
        break;
      }
    Problem view = pr.restrict(part);
    expect_same_problem(view, rebuilt(pr, part));
    EXPECT_EQ(view.origin(0), source);
    EXPECT_EQ(view.origin(1), topo[2]);
    // A view of a view maps back to the original.
    Problem inner = view.restrict(Restriction{{}, {2, 3}, {}});
    EXPECT_EQ(inner.origin(0), topo[3]);
    EXPECT_EQ(&inner.platform(), &pr.platform());  // shared, not copied
  }
}

TEST(ProblemView, FuseSumsCostsAndKeepsOuterEdges) {
  // a -> b -> c -> d with b, c fused: three nodes, costs of b and c summed per device.
  Problem pr = inline_problem(R"({"nodes": [
      {"id": "a", "cost_us": {"a": 1, "b": 2}, "input_bytes": 100},
      {"id": "b", "cost_us": {"a": 3, "b": null}},
      {"id": "c", "cost_us": {"a": 5, "b": 7}},
      {"id": "d", "cost_us": {"a": 11, "b": 13}, "output_bytes": 1000}],
    "edges": [{"src": "a", "dst": "b", "bytes": 10}, {"src": "b", "dst": "c", "bytes": 20},
              {"src": "c", "dst": "d", "bytes": 30}]})",
                              kTwo);
  Problem fused = pr.fuse({{0}, {1, 2}, {3}});
  ASSERT_EQ(fused.num_nodes(), 3);
  EXPECT_DOUBLE_EQ(fused.cost_us(1, 0), 8.0);
  EXPECT_FALSE(fused.can_run(1, 1));  // b cannot run on b
  EXPECT_DOUBLE_EQ(fused.input_us(0, 1), pr.input_us(0, 1));
  EXPECT_DOUBLE_EQ(fused.output_us(2, 1), pr.output_us(3, 1));
  ASSERT_EQ(fused.graph().num_edges(), 2);
  EXPECT_DOUBLE_EQ(fused.comm_us(1, 0, 1), pr.comm_us(2, 0, 1));  // c -> d's tensor
  EXPECT_EQ(fused.origin(1), 1);
}
