#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/fastest.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/moves.hpp"
#include "diviml/solvers/split.hpp"
#include "support/fixtures.hpp"
#include "support/inline_problem.hpp"
#include "support/random_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

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
      if (at.count(e.src) && at.count(e.dst)) {
        EXPECT_LT(at[e.src], at[e.dst]);
      }
  }
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
