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

TEST(CbcBackend, LagrangianBoundFromTheLpPricesIsTheLpValueAndAnyPricesGiveNoMore) {
  // min P  s.t.  x0 + x1 = 1, 4 x0 <= P, 12 x1 <= P, 0 <= x <= 1: the LP value is 3 (x0 = 3/4).
  MilpModel m;
  const int p = m.add_var(0, kInf, 1.0, false, "P");
  const int x0 = m.add_var(0, 1, 0, false), x1 = m.add_var(0, 1, 0, false);
  m.add_row({{x0, 1.0}, {x1, 1.0}}, 1, 1);
  m.add_row({{x0, 4.0}, {p, -1.0}}, -kInf, 0);
  m.add_row({{x1, 12.0}, {p, -1.0}}, -kInf, 0);
  MilpOptions opt;
  opt.relax = true;
  auto r = make_cbc_backend()->solve(m, opt);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->row_duals.size(), 3u);
  EXPECT_NEAR(lagrangian_bound(m, r->row_duals), 3.0, 1e-9);
  // Other prices: never above the LP value (weak duality), including ones whose scale breaks
  // the unbounded column's sign (scaled down) and rows priced on their infinite side (dropped).
  for (const std::vector<double>& y : std::vector<std::vector<double>>{
           {0, 0, 0}, {2, -0.5, -0.5}, {5, -1, -1}, {1, -0.9, -0.1}, {3, 2, -4}, {-1, 0.3, 0.2}})
    EXPECT_LE(lagrangian_bound(m, y), 3.0 + 1e-9);
  EXPECT_EQ(lagrangian_bound(m, {1.0}), -kInf);  // wrong size
}
