// The latency objective through the seam: what solvers and solve() ask of it.
#include <gtest/gtest.h>

#include <cmath>

#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/objective.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/solve/solve.hpp"
#include "support/oracle.hpp"
#include "support/random_problem.hpp"
#include "support/tricky_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

TEST(LatencyObjective, IsFoundByNameAndScoresByMakespan) {
  ASSERT_EQ(find_objective("latency"), &latency_objective());
  EXPECT_EQ(find_objective("throughput"), &throughput_objective());
  EXPECT_EQ(find_objective("speed"), nullptr);
  Problem pr = random_problem(5);
  auto heft = solve("heft", pr, {});
  ASSERT_TRUE(heft);
  auto again = latency_objective().evaluate(pr, mapping_of(pr, *heft));
  ASSERT_TRUE(again);
  EXPECT_DOUBLE_EQ(latency_objective().value(*again), heft->makespan_us);
  EXPECT_TRUE(latency_objective().validate(pr, *heft));
}

TEST(LatencyObjective, QuickBoundIsSoundAndNearTheLpBound) {
  // The quick bound (critical path, work bound by column generation without a clock) never
  // exceeds the exhaustive optimum, never falls below the average work bound, and meets the
  // LP work bound (test_lower_bound checks both against the full LP).
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    std::optional<Problem> instance = tricky_problem(seed);
    if (!instance) continue;
    const Problem& pr = *instance;
    const double opt = Oracle(pr).optimum();
    const double quick = latency_objective().quick_bound(pr);
    if (std::isfinite(opt)) {
      EXPECT_LE(quick, opt * (1 + 1e-9) + 1e-9) << "seed " << seed;
    }
    EXPECT_GE(ascent_work_bound_us(pr), average_work_bound_us(pr) * (1 - 1e-12));
  }
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Problem pr = random_problem(seed, RandomSpec{40, 3, 0.1, 0.2, false, false});
    const double lp = lp_work_bound_us(pr, 10);
    EXPECT_LE(ascent_work_bound_us(pr), lp * (1 + 1e-6)) << "seed " << seed;
    EXPECT_GE(ascent_work_bound_us(pr), lp * (1 - 1e-6)) << "seed " << seed;
  }
}
