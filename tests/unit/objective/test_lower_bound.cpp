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

TEST(LowerBound, CriticalPathAndWork) {
  Problem pr = load("topcuoglu.graph.json", "topcuoglu.platform.json");
  // Device-aware critical path can never exceed HEFT's 80.
  double cp = critical_path_bound_us(pr);
  EXPECT_GT(cp, 0);
  EXPECT_LE(cp, 80.0);
  // Work bound: sum of per-node minima / 3 = (9+13+11+8+10+9+7+5+12+7)/3 = 91/3.
  EXPECT_NEAR(average_work_bound_us(pr), 91.0 / 3.0, 1e-9);
  EXPECT_DOUBLE_EQ(lower_bound_us(pr), std::max(cp, 91.0 / 3.0));
}

TEST(LowerBound, ChainOnOneDeviceIsTight) {
  Problem pr = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 3, "b": 9}},
      {"id": "y", "cost_us": {"a": 4, "b": 9}}], "edges": [{"src": "x", "dst": "y", "bytes": 100}]})",
                              kTwo);
  EXPECT_DOUBLE_EQ(critical_path_bound_us(pr), 7.0);
  auto plan = solve("heft", pr, {});
  ASSERT_TRUE(plan);
  EXPECT_DOUBLE_EQ(plan->makespan_us, 7.0);
  EXPECT_EQ(plan->status, PlanStatus::kOptimal);  // meets its bound: proven
}
