// MILP-SPLIT: split nodes, modules, exactness against the full MILP, caching, memory.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "../support/inline_problem.hpp"
#include "../support/random_problem.hpp"
#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/fastest.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/moves.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solvers/split.hpp"
#include "diviml/objective/validate.hpp"

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
  int compared = 0, compared_milp_only = 0;
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
      if (cap == 4) {  // the same with pinned MILPs only (no branch and bound)
        SolveOptions milp_only = o;
        milp_only.module_bnb_expansions = 0;
        auto sm = solve("split", *pr, milp_only);
        ASSERT_TRUE(sm) << sm.error().message;
        if (m->status == PlanStatus::kOptimal && sm->status == PlanStatus::kOptimal) {
          EXPECT_NEAR(sm->makespan_us, m->makespan_us, 1e-6 * m->makespan_us) << "seed " << seed << " milp only";
          ++compared_milp_only;
        }
      }
    }
  }
  EXPECT_GE(compared, 18);
  EXPECT_GE(compared_milp_only, 6);
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
  auto at = note.find(" distinct,");
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

namespace {

// The producers placed before position t of `order` (or the module's entry) that a node at or
// after t, or the exit, reads: what crosses the cut, recomputed from the edges.
std::set<int> crossing(const Graph& g, const Module& m, const std::vector<int>& before) {
  std::set<int> left(before.begin(), before.end()), out;
  if (m.entry >= 0) left.insert(m.entry);
  for (const Edge& e : g.edges)
    if (left.count(e.src) && !left.count(e.dst)) out.insert(e.src);
  return out;
}

// The module with the most nodes inside.
Module& largest(std::vector<Module>& mods) {
  return *std::max_element(mods.begin(), mods.end(),
                           [](const Module& a, const Module& b) { return a.nodes.size() < b.nodes.size(); });
}

}  // namespace

TEST(CutModule, LongSkipsAreCutWhereFewTensorsCross) {
  Platform pf = platform();
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    // Four Inception-like modules under one residual edge: no split node inside the piece.
    Graph g = module_chain(4, 2, seed, 4);
    auto pr = Problem::build(g, pf);
    ASSERT_TRUE(pr);
    std::vector<Module> mods = decompose(g, 8);
    Module* big = &largest(mods);
    ASSERT_GT(big->nodes.size(), 8u);
    Module whole = *big;
    cut_module(*pr, whole, 8, 0);
    EXPECT_TRUE(whole.segments.empty()) << "max_channels 0 means no cuts";
    Module m = *big;
    cut_module(*pr, m, 8, 3);
    ASSERT_GE(m.segments.size(), 2u) << "seed " << seed;
    ASSERT_EQ(m.channels.size(), m.segments.size() - 1);
    std::vector<int> before;
    for (size_t s = 0; s < m.segments.size(); ++s) {
      EXPECT_LE(m.segments[s].size(), 8u);
      before.insert(before.end(), m.segments[s].begin(), m.segments[s].end());
      if (s + 1 == m.segments.size()) break;
      const std::set<int> want = crossing(g, m, before);
      EXPECT_EQ(std::set<int>(m.channels[s].begin(), m.channels[s].end()), want) << "cut " << s;
      EXPECT_LE(m.channels[s].size(), 3u);
      EXPECT_TRUE(want.count(m.entry)) << "the residual crosses every cut";
    }
    // The segments hold the module's nodes once each, in an order that respects the edges.
    EXPECT_EQ(std::multiset<int>(before.begin(), before.end()), std::multiset<int>(m.nodes.begin(), m.nodes.end()));
    std::map<int, size_t> at;
    for (size_t i = 0; i < before.size(); ++i) at[before[i]] = i;
    for (const Edge& e : g.edges)
      if (at.count(e.src) && at.count(e.dst)) EXPECT_LT(at[e.src], at[e.dst]);
  }
}

// Two identical devices and one link.
const char* const kTwoDevices = R"({"format": "diviml.platform/1", "name": "two", "host": "a",
    "devices": [{"name": "a", "kind": "gpu", "peak_gflops": 1000, "mem_bandwidth_gbps": 100},
                {"name": "b", "kind": "gpu", "peak_gflops": 1000, "mem_bandwidth_gbps": 100}],
    "links": [{"a": "a", "b": "b", "latency_us": 1, "bandwidth_gbps": 10}]})";

// Nodes in (1 us), p1 p2 q1 q2 r1 r2 (10 us each), out (1 us) with the given edges ("a b").
Problem eight_nodes(const std::string& edges) {
  std::string json = R"({"format": "diviml.graph/1", "name": "eight", "nodes": [)";
  const char* ids[] = {"in", "p1", "p2", "q1", "q2", "r1", "r2", "out"};
  for (int i = 0; i < 8; ++i) {
    int c = i == 0 || i == 7 ? 1 : 10;
    json += std::string(i ? ", " : "") + R"({"id": ")" + ids[i] + R"(", "op": "x", "cost_us": {"a": )" +
            std::to_string(c) + R"(, "b": )" + std::to_string(c) + "}}";
  }
  json += R"(], "edges": [)";
  std::stringstream in(edges);
  std::string a, b;
  for (bool first = true; in >> a >> b; first = false)
    json += std::string(first ? "" : ", ") + R"({"src": ")" + a + R"(", "dst": ")" + b + R"(", "bytes": 1})";
  return diviml::testing::inline_problem(json + "]}", kTwoDevices);
}

TEST(CutModule, ParallelBranchesAreNotCutApart) {
  // Three equal branches between a fork and a join: every cut with few tensors crossing would
  // run one branch after another, so the module stays whole however small the cap.
  Problem pr = eight_nodes("in p1 p1 p2 in q1 q1 q2 in r1 r1 r2 p2 out q2 out r2 out");
  std::vector<Module> mods = decompose(pr.graph(), 2);
  ASSERT_EQ(mods.size(), 2u);  // the input node alone, then the fork-join between split nodes
  Module m = mods.back();
  ASSERT_EQ(m.nodes.size(), 6u);
  cut_module(pr, m, 2, 3);
  EXPECT_TRUE(m.segments.empty());
  // The same nodes one after another, with overlapping residuals p1 -> q2 and q1 -> out (no
  // split node between p1 and out): cut, at most two tensors crossing each cut.
  Problem seq = eight_nodes("in p1 p1 p2 p2 q1 q1 q2 q2 r1 r1 r2 r2 out p1 q2 q1 out");
  std::vector<Module> smods = decompose(seq.graph(), 2);
  Module& big = largest(smods);
  ASSERT_GT(big.nodes.size(), 2u);
  EXPECT_FALSE(big.chain);
  cut_module(seq, big, 2, 3);
  ASSERT_GE(big.segments.size(), 2u);
  for (const auto& ch : big.channels) EXPECT_EQ(ch.size(), 2u);
  auto plan = solve("split", seq, SolveOptions{.module_size = 2});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_NEAR(plan->makespan_us, 62, 1e-6) << "everything on one device, nothing lost at the cuts";
}

TEST(Split, MultiChannelCutsGiveValidPlansAsGoodAsSolvingWhole) {
  Platform pf = platform();
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    Graph g = module_chain(4, 2, seed, 4);
    auto pr = Problem::build(g, pf);
    ASSERT_TRUE(pr);
    SolveOptions o;
    o.threads = 2;
    o.module_size = 8;
    auto s = solve("split", *pr, o);
    o.max_channels = 0;
    auto whole = solve("split", *pr, o);
    auto fastest = solve("fastest", *pr, o);
    ASSERT_TRUE(s && whole && fastest) << (s ? "" : s.error().message);
    EXPECT_TRUE(validate(*pr, *s));
    EXPECT_LE(s->makespan_us, fastest->makespan_us * (1 + 1e-9)) << "seed " << seed;
    EXPECT_LE(s->makespan_us, whole->makespan_us * 1.01) << "seed " << seed;
    int cut = 0;
    for (const ModuleSummary& m : s->modules)
      if (m.segments > 1) {
        ++cut;
        EXPECT_GE(m.channels, 2);
        EXPECT_FALSE(m.proven);
      }
    EXPECT_EQ(cut, 1) << "seed " << seed << ": the residual piece is cut";
    EXPECT_NE(s->status, PlanStatus::kOptimal) << "a cut module proves nothing";
    for (const ModuleSummary& m : whole->modules) EXPECT_EQ(m.segments, 1);
    if (seed == 4 || seed == 5) {  // the full MILP proves these within seconds
      o.time_limit_s = 60;
      auto full = solve("milp", *pr, o);
      ASSERT_TRUE(full);
      ASSERT_EQ(full->status, PlanStatus::kOptimal);
      EXPECT_NEAR(s->makespan_us, full->makespan_us, 1e-6 * full->makespan_us) << "seed " << seed;
    }
  }
}

TEST(ImproveByMoves, NeverWorseAlwaysValidAndFindsAHiddenBranch) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    diviml::testing::RandomSpec spec;
    spec.nodes = 10 + static_cast<int>(seed);
    spec.memory = seed % 2 == 0;
    Problem pr = diviml::testing::random_problem(seed, spec);
    auto h = solve("heft", pr, {});
    if (!h) continue;
    Mapping better = improve_by_moves(pr, mapping_of(pr, *h), 10);
    auto p = replay(pr, better);
    ASSERT_TRUE(p) << "seed " << seed;
    EXPECT_LE(p->makespan_us, h->makespan_us * (1 + 1e-9));
    EXPECT_TRUE(validate(pr, *p)) << "seed " << seed;
  }
  // A short branch off the input (r1 -> r2), run last on the main device: moving nodes to the
  // idle device hides it behind the long path.
  Problem pr = eight_nodes("in p1 p1 p2 p2 q1 q1 q2 q2 out in r1 r1 r2 r2 out");
  Mapping m;
  m.device.assign(pr.num_nodes(), 0);
  m.order.assign(2, {});
  for (int v : pr.graph().topo_order()) m.order[0].push_back(v);
  const double all_on_a = replay(pr, m)->makespan_us;
  Mapping moved = improve_by_moves(pr, m, 10);
  EXPECT_NEAR(all_on_a, 62, 1e-6);
  // Moving r1 alone gives 52 us; the second criterion (sum of ends at equal makespan) lets the
  // search cross the plateaus to 42 us, the main path alone on a.
  auto moved_plan = replay(pr, moved);
  ASSERT_TRUE(moved_plan);
  EXPECT_NEAR(moved_plan->makespan_us, 42, 0.001);
}
