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
      if (q > 0) {
        EXPECT_EQ(mods[q].entry, mods[q - 1].exit);
      }
    }
    if (mods.front().entry >= 0) ++seen[mods.front().entry];
    for (int v = 0; v < g.num_nodes(); ++v) EXPECT_EQ(seen[v], 1) << g.nodes[v].id << " cap " << cap;
  }
  // Pieces smaller than the cap merge; with cap 1 each Inception-like module stays whole.
  EXPECT_LT(decompose(g, 100).size(), decompose(g, 1).size());
}
