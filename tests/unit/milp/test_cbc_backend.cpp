#include <gtest/gtest.h>

#include "diviml/io/json_io.hpp"
#include "diviml/milp/latency_milp.hpp"
#include "diviml/milp/milp.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solvers/milp.hpp"
#include "support/brute_force.hpp"
#include "support/fixtures.hpp"
#include "support/inline_problem.hpp"
#include "support/random_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

TEST(CbcBackend, SolvesASmallMilpAndItsRelaxation) {
  // max x + 2y  s.t. x + y <= 3.5, y <= 2.5, x, y integer  ->  min -(x + 2y) = -(1 + 4) = -5.
  MilpModel m;
  int x = m.add_var(0, 10, -1, true, "x");
  int y = m.add_var(0, 10, -2, true, "y");
  m.add_row({{x, 1}, {y, 1}}, -kInf, 3.5);
  m.add_row({{y, 1}}, -kInf, 2.5);
  auto r = make_cbc_backend()->solve(m, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, MilpResult::Status::kOptimal);
  EXPECT_NEAR(r->objective, -5, 1e-9);
  EXPECT_NEAR(r->x[x], 1, 1e-9);
  EXPECT_NEAR(r->x[y], 2, 1e-9);
  MilpOptions relax;
  relax.relax = true;
  auto lp = make_cbc_backend()->solve(m, relax);
  ASSERT_TRUE(lp);
  EXPECT_NEAR(lp->objective, -(1 + 2 * 2.5), 1e-9);
}

TEST(CbcBackend, ReportsInfeasible) {
  MilpModel m;
  int x = m.add_var(0, 1, 1, true, "x");
  m.add_row({{x, 1}}, 2, kInf);
  auto r = make_cbc_backend()->solve(m, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, MilpResult::Status::kInfeasible);
}

TEST(CbcBackend, IsolatedAndInProcessSolvesAgree) {
  Problem pr = random_problem(4, RandomSpec{9, 3, 0.3, 0.0, true, false});
  LatencyMilp L = build_latency_milp(pr, nullptr);
  MilpOptions a, b;
  b.isolate = false;
  auto ra = make_cbc_backend()->solve(L.model, a);
  auto rb = make_cbc_backend()->solve(L.model, b);
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(ra->status, MilpResult::Status::kOptimal);
  EXPECT_NEAR(ra->objective, rb->objective, 1e-9);
  EXPECT_EQ(ra->x.size(), static_cast<size_t>(L.model.num_vars()));
}
