#include <gtest/gtest.h>

#include <cmath>

#include "diviml/io/json_io.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/fastest.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/moves.hpp"
#include "support/fixtures.hpp"
#include "support/inline_problem.hpp"
#include "support/random_problem.hpp"
#include "support/reference_heft.hpp"
#include "support/tricky_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

TEST(Replay, ComputesTransfersAndHostIo) {
  Problem pr = inline_problem(R"({"nodes": [
      {"id": "x", "cost_us": {"a": 5, "b": 1}, "input_bytes": 4},
      {"id": "y", "cost_us": {"a": 5, "b": 3}, "output_bytes": 6}],
      "edges": [{"src": "x", "dst": "y", "bytes": 10}]})",
                              kTwo);
  Mapping m{{1, 0}, {{1}, {0}}};
  auto plan = replay(pr, m);
  ASSERT_TRUE(plan) << plan.error().message;
  // x waits 2+4 for its input on b, runs 1; transfer to a 2+10; y runs 5 on the host.
  EXPECT_DOUBLE_EQ(plan->placements[0].start_us, 6.0);
  EXPECT_DOUBLE_EQ(plan->placements[1].start_us, 7.0 + 12.0);
  EXPECT_DOUBLE_EQ(plan->makespan_us, 24.0);
  ASSERT_EQ(plan->transfers.size(), 1u);
  EXPECT_DOUBLE_EQ(plan->transfers[0].end_us, 19.0);
  ASSERT_EQ(plan->host_transfers.size(), 1u);  // y is on the host: no output transfer
  EXPECT_FALSE(plan->host_transfers[0].to_host);
  // The other way round: y on b returns 2+6 to the host.
  auto plan2 = replay(pr, Mapping{{0, 1}, {{0}, {1}}});
  ASSERT_TRUE(plan2);
  EXPECT_DOUBLE_EQ(plan2->makespan_us, 5 + 12 + 3 + 8);
}

TEST(Replay, RejectsOrderAgainstPrecedence) {
  Problem pr = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": 1}},
      {"id": "y", "cost_us": {"a": 1, "b": 1}}], "edges": [{"src": "x", "dst": "y"}]})",
                              kTwo);
  auto plan = replay(pr, Mapping{{0, 0}, {{1, 0}, {}}});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("contradicts precedence"), std::string::npos);
  EXPECT_FALSE(replay(pr, Mapping{{0, 1}, {{0}, {}}}));  // y missing from b's order
}
