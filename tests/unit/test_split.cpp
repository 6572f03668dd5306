// MILP-SPLIT: split nodes, modules, exactness against the full MILP, caching, memory.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "../support/random_problem.hpp"
#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/sched/lower_bound.hpp"
#include "diviml/sched/solver.hpp"
#include "diviml/sched/split.hpp"
#include "diviml/sched/validate.hpp"

using namespace diviml;

namespace {

Graph chain_graph(const std::string& spec_edges, int n) {
  Graph g;
  g.name = "g";
  for (int i = 0; i < n; ++i) g.add_node(Node{"n" + std::to_string(i), "op", {{"d", 1.0}}});
  std::stringstream in(spec_edges);
  int a, b;
  while (in >> a >> b) g.edges.push_back(Edge{a, b, 1.0});
  EXPECT_TRUE(g.finalize());
  return g;
}

std::set<std::string> ids(const Graph& g, const std::vector<int>& nodes) {
  std::set<std::string> out;
  for (int v : nodes) out.insert(g.nodes[v].id);
  return out;
}

Platform platform() {
  auto p = load_platform(kDefaultPlatform);
  EXPECT_TRUE(p);
  return *p;
}

}  // namespace

TEST(SplitNodes, DiamondsAndSkips) {
  // 0 -> {1, 2} -> 3 -> 4 -> {5 -> 6, 4 -> 6}: splits 0, 3, 4, 6.
  Graph g = chain_graph("0 1 0 2 1 3 2 3 3 4 4 5 5 6 4 6", 7);
  EXPECT_EQ(ids(g, find_split_nodes(g)), (std::set<std::string>{"n0", "n3", "n4", "n6"}));
  // Two sources, two sinks: only the node every path crosses.
  Graph h = chain_graph("0 2 1 2 2 3 2 4", 5);
  EXPECT_EQ(ids(h, find_split_nodes(h)), (std::set<std::string>{"n2"}));
  // An edge jumping over everything: no split node but its ends.
  Graph j = chain_graph("0 1 1 2 2 3 0 3", 4);
  EXPECT_EQ(ids(j, find_split_nodes(j)), (std::set<std::string>{"n0", "n3"}));
}

TEST(SplitNodes, ModulesCoverEveryNodeOnceAndRespectTheCap) {
  Graph g = module_chain(6, 3, 5);
  for (int cap : {1, 4, 12, 100}) {
    std::vector<Module> mods = decompose(g, cap);
    std::vector<int> seen(g.num_nodes(), 0);
    for (size_t q = 0; q < mods.size(); ++q) {
      for (int v : mods[q].nodes) ++seen[v];
      if (mods[q].exit >= 0) ++seen[mods[q].exit];
      if (q > 0) EXPECT_EQ(mods[q].entry, mods[q - 1].exit);
    }
    if (mods.front().entry >= 0) ++seen[mods.front().entry];
    for (int v = 0; v < g.num_nodes(); ++v) EXPECT_EQ(seen[v], 1) << g.nodes[v].id << " cap " << cap;
  }
  // Pieces smaller than the cap merge; with cap 1 each Inception-like module stays whole.
  EXPECT_LT(decompose(g, 100).size(), decompose(g, 1).size());
}

TEST(Split, EqualsTheFullMilpOptimumWhereBothProve) {
  Platform pf = platform();
  int compared = 0;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    Graph g = seed % 2 ? module_chain(2, 2, seed) : random_dag(13, 0.15, seed);
    auto pr = Problem::build(g, pf);
    ASSERT_TRUE(pr);
    SolveOptions o;
    o.time_limit_s = 60;
    auto m = solve("milp", *pr, o);
    ASSERT_TRUE(m) << m.error().message;
    for (int cap : {1, 4, 12}) {
      o.module_size = cap;
      o.module_time_limit_s = 30;
      o.threads = 2;
      auto s = solve("split", *pr, o);
      ASSERT_TRUE(s) << s.error().message;
      EXPECT_TRUE(validate(*pr, *s));
      EXPECT_GE(s->makespan_us, m->makespan_us * (1 - 1e-9)) << "seed " << seed;
      EXPECT_LE(s->lower_bound_us, m->makespan_us * (1 + 1e-9)) << "seed " << seed;
      if (m->status == PlanStatus::kOptimal && s->status == PlanStatus::kOptimal) {
        EXPECT_NEAR(s->makespan_us, m->makespan_us, 1e-6 * m->makespan_us) << "seed " << seed << " cap " << cap;
        ++compared;
      }
      ASSERT_FALSE(s->modules.empty());
    }
  }
  EXPECT_GE(compared, 18);
}

TEST(Split, ChainModulesNeedNoMilpAndAreExact) {
  // MobileNet-like: a chain with residual skips from block inputs only.
  Platform pf = platform();
  Graph g;
  g.name = "chain";
  for (int i = 0; i < 12; ++i) {
    Node v;
    v.id = "c" + std::to_string(i);
    v.op = i % 3 == 2 ? "add" : "conv";
    v.flops = 2e6 * (1 + i % 4);
    v.bytes_accessed = 4e5;
    v.output_bytes = 1e5 * (1 + i % 2);
    if (i == 0) v.input_bytes = 6e5;
    g.add_node(v);
  }
  for (int i = 0; i + 1 < 12; ++i) g.edges.push_back(Edge{i, i + 1, *g.nodes[i].output_bytes});
  for (int i = 0; i + 3 < 12; i += 3) g.edges.push_back(Edge{i, i + 2, *g.nodes[i].output_bytes});
  ASSERT_TRUE(g.finalize());
  auto pr = Problem::build(g, pf);
  ASSERT_TRUE(pr);
  SolveOptions o;
  o.module_size = 3;
  auto s = solve("split", *pr, o);
  auto m = solve("milp", *pr, o);
  ASSERT_TRUE(s && m);
  int chains = 0;
  for (const auto& mod : s->modules) chains += mod.chain;
  EXPECT_GT(chains, 0);
  EXPECT_EQ(m->status, PlanStatus::kOptimal);
  EXPECT_EQ(s->status, PlanStatus::kOptimal);
  EXPECT_NEAR(s->makespan_us, m->makespan_us, 1e-6 * m->makespan_us);
}

TEST(Split, IdenticalModulesAreSolvedOnce) {
  TransformerSpec spec;
  spec.layers = 6;
  auto g = transformer(spec);
  ASSERT_TRUE(g);
  auto pr = Problem::build(*g, platform());
  ASSERT_TRUE(pr);
  auto s = solve("split", *pr, {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(validate(*pr, *s));
  // Every layer is the same module between the same split nodes: the note counts distinct ones.
  ASSERT_FALSE(s->notes.empty());
  const std::string& note = s->notes.front();
  auto at = note.find(" distinct");
  ASSERT_NE(at, std::string::npos) << note;
  int distinct = std::stoi(note.substr(note.rfind(' ', at - 1) + 1));
  EXPECT_LT(distinct, static_cast<int>(s->modules.size())) << note;
}

TEST(Split, PlansAreValidOnRandomProblemsAndNeverWorseThanTheirBound) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    diviml::testing::RandomSpec spec;
    spec.nodes = 8 + static_cast<int>(seed % 10);
    spec.edge_prob = 0.2;
    spec.forbid_prob = seed % 3 == 0 ? 0.3 : 0.0;
    Problem pr = diviml::testing::random_problem(seed, spec);
    SolveOptions o;
    o.module_size = 1 + static_cast<int>(seed % 5);
    auto s = solve("split", pr, o);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_TRUE(validate(pr, *s));
    EXPECT_LE(s->lower_bound_us, s->makespan_us);
  }
}

TEST(Split, MemoryThatBindsFallsBackToAPlanThatFits) {
  diviml::testing::RandomSpec spec;
  spec.nodes = 10;
  spec.memory = true;
  int fallbacks = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Problem pr = diviml::testing::random_problem(seed, spec);
    auto s = solve("split", pr, {});
    if (!s) continue;
    EXPECT_TRUE(validate(pr, *s)) << "seed " << seed;
    for (const auto& n : s->notes) fallbacks += n.find("overflows a device's memory_bytes") != std::string::npos;
  }
  EXPECT_GT(fallbacks, 0);
}
