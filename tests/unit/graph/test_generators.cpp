#include <gtest/gtest.h>

#include <set>

#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"

using namespace diviml;

namespace {

std::string stage_of(const std::string& id) {
  auto dot = id.find('.');
  return dot == std::string::npos ? "" : id.substr(0, dot);
}

}  // namespace

TEST(Rwnn, StructureFollowsXieEtAl) {
  for (const char* model : {"ws", "er", "ba"}) {
    RwnnSpec s;
    s.model = model;
    s.nodes = 16;
    s.stages = 3;
    s.p = model == std::string("er") ? 0.2 : 0.75;
    s.m = 3;
    s.seed = 7;
    auto g = rwnn(s);
    ASSERT_TRUE(g) << g.error().message;
    // stem + stages * (N nodes + output node) + three head nodes.
    EXPECT_EQ(g->num_nodes(), 1 + 3 * (16 + 1) + 3) << model;
    // One graph input (the stem) and one output (the classifier).
    int sources = 0, sinks = 0;
    for (int v = 0; v < g->num_nodes(); ++v) sources += g->is_source(v), sinks += g->is_sink(v);
    EXPECT_EQ(sources, 1);
    EXPECT_EQ(sinks, 1);
    // Per stage: every edge into a stage node comes from the same stage or from the single
    // stage input (previous stage's output, or the stem); the stage output is the only node
    // whose successors lie outside.
    for (int st = 1; st <= 3; ++st) {
      // Appended, not concatenated: GCC 12 warns falsely (-Wrestrict) on "s" + to_string().
      std::string prefix = "s", input = "s";
      prefix += std::to_string(st);
      input += std::to_string(st - 1);
      input += ".out";
      if (st == 1) input = "stem";
      std::set<std::string> leaving;
      for (const Edge& e : g->edges) {
        const std::string &a = g->nodes[e.src].id, &b = g->nodes[e.dst].id;
        if (stage_of(b) == prefix && stage_of(a) != prefix) {
          EXPECT_EQ(a, input) << model << " " << b;
        }
        if (stage_of(a) == prefix && stage_of(b) != prefix) leaving.insert(a);
      }
      EXPECT_EQ(leaving, std::set<std::string>{prefix + ".out"}) << model;
    }
    // Real channel counts: the pointwise conv of stage 3 has (4C)^2 weights.
    const Node& n3 = g->nodes[g->find("s3.n0")];
    EXPECT_GT(n3.param_bytes, 4.0 * (4 * 78) * (4 * 78));
    EXPECT_GT(*n3.flops, 0);
  }
}

TEST(Rwnn, EdgeCountsOfTheGenerators) {
  auto internal = [](const Graph& g, const std::string& stage) {
    int count = 0;
    for (const Edge& e : g.edges)
      if (stage_of(g.nodes[e.src].id) == stage && stage_of(g.nodes[e.dst].id) == stage &&
          g.nodes[e.dst].id != stage + ".out")
        ++count;
    return count;
  };
  RwnnSpec ws;
  ws.nodes = 20;
  ws.k = 4;
  ws.stages = 1;
  ws.p = 0.75;
  auto g = rwnn(ws);
  ASSERT_TRUE(g);
  EXPECT_EQ(internal(*g, "s1"), 20 * 4 / 2);  // rewiring keeps the edge count
  RwnnSpec er = ws;
  er.model = "er";
  er.p = 0.0;
  g = rwnn(er);
  ASSERT_TRUE(g);
  EXPECT_EQ(internal(*g, "s1"), 0);  // every node reads the input and feeds the output
  RwnnSpec ba = ws;
  ba.model = "ba";
  ba.m = 3;
  g = rwnn(ba);
  ASSERT_TRUE(g);
  EXPECT_EQ(internal(*g, "s1"), (20 - 3) * 3);
}

TEST(Rwnn, DeterministicPerSeed) {
  RwnnSpec s;
  s.seed = 3;
  auto a = rwnn(s), b = rwnn(s);
  s.seed = 4;
  auto c = rwnn(s);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(graph_to_json(*a), graph_to_json(*b));
  EXPECT_NE(graph_to_json(*a), graph_to_json(*c));
}

TEST(Rwnn, BadParametersAreErrors) {
  RwnnSpec s;
  s.k = 3;
  EXPECT_EQ(rwnn(s).error().message, "rwnn: WS needs an even --k with 2 <= k < nodes");
  s = RwnnSpec{};
  s.model = "xx";
  EXPECT_EQ(rwnn(s).error().message, "rwnn: unknown random graph model 'xx' (expected ws, er or ba)");
  s = RwnnSpec{};
  s.nodes = 1;
  EXPECT_FALSE(rwnn(s));
  s = RwnnSpec{};
  s.p = 1.5;
  EXPECT_FALSE(rwnn(s));
}

TEST(Transformer, NodesAndQuantities) {
  TransformerSpec s;
  s.layers = 2;
  auto g = transformer(s);
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->num_nodes(), 1 + 2 * 12 + 2);
  const Node& qkv = g->nodes[g->find("l0.qkv")];
  EXPECT_DOUBLE_EQ(*qkv.flops, 2.0 * 128 * 768 * 3 * 768);
  EXPECT_DOUBLE_EQ(qkv.param_bytes, 2.0 * (768.0 * 3 * 768 + 3 * 768));
  s.split_heads = true;
  auto split = transformer(s);
  ASSERT_TRUE(split);
  EXPECT_EQ(split->num_nodes(), 1 + 2 * (12 * 4 + 8) + 2);
  // Splitting heads keeps the total attention work.
  double whole = 0, parts = 0;
  for (const Node& v : g->nodes)
    if (v.id.find("scores") != std::string::npos) whole += *v.flops;
  for (const Node& v : split->nodes)
    if (v.id.find("scores") != std::string::npos) parts += *v.flops;
  EXPECT_DOUBLE_EQ(whole, parts);
  s.heads = 5;
  EXPECT_EQ(transformer(s).error().message, "transformer: --d-model must be a multiple of --heads");
}

TEST(Generators, RandomAndChainAreConnectedDags) {
  Graph r = random_dag(40, 0.1, 2);
  EXPECT_EQ(r.num_nodes(), 40);
  for (int v = 1; v < 40; ++v) EXPECT_FALSE(r.is_source(v));
  Graph c = module_chain(3, 4, 2);
  int sources = 0, sinks = 0;
  for (int v = 0; v < c.num_nodes(); ++v) sources += c.is_source(v), sinks += c.is_sink(v);
  EXPECT_EQ(sources, 1);
  EXPECT_EQ(sinks, 1);
}

TEST(Generators, TransformerKeepsThePromptsKeysAndValuesAsState) {
  TransformerSpec spec;
  spec.layers = 2;
  spec.seq = 64;
  spec.batch = 2;
  auto g = transformer(spec);
  ASSERT_TRUE(g) << g.error().message;
  double state = 0;
  for (const Node& v : g->nodes) state += v.state_bytes;
  // K and V: 2 x (batch x seq) tokens x d_model values x 2 bytes, per layer.
  EXPECT_DOUBLE_EQ(state, 2.0 * 2 * (2.0 * 64) * 768 * 2);
  const Node& qkv = g->nodes[g->find("l0.qkv")];
  EXPECT_DOUBLE_EQ(qkv.state_bytes, 2.0 * (2.0 * 64) * 768 * 2);
}
