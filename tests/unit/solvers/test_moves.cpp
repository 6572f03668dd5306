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
