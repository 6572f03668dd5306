// The exact branch and bound: optimality against exhaustive enumeration and against the MILP,
// the time and expansion limits, memory.
#include <gtest/gtest.h>

#include <cmath>

#include "../support/brute_force.hpp"
#include "../support/random_problem.hpp"
#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/sched/bnb.hpp"
#include "diviml/sched/lower_bound.hpp"
#include "diviml/sched/solver.hpp"
#include "diviml/sched/validate.hpp"

using namespace diviml;
using diviml::testing::random_problem;
using diviml::testing::RandomSpec;

TEST(Bnb, EqualsTheEnumeratedOptimumOnTinyInstances) {
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    RandomSpec spec;
    spec.nodes = 4 + static_cast<int>(seed % 4);  // 4..7 ops
    spec.devices = 2 + static_cast<int>(seed % 2);
    spec.edge_prob = 0.2 + 0.1 * static_cast<double>(seed % 4);
    spec.forbid_prob = seed % 5 == 0 ? 0.25 : 0.0;
    spec.memory = seed % 3 == 0;
    Problem pr = random_problem(seed, spec);
    double opt = diviml::testing::brute_force_optimum(pr);
    auto plan = solve("bnb", pr, {});
    if (!std::isfinite(opt)) {
      ASSERT_FALSE(plan) << "seed " << seed << ": bnb found a plan where none exists";
      continue;
    }
    ASSERT_TRUE(plan) << "seed " << seed << ": " << plan.error().message;
    ++checked;
    EXPECT_EQ(plan->status, PlanStatus::kOptimal) << "seed " << seed;
    EXPECT_NEAR(plan->makespan_us, opt, 1e-6 * opt) << "seed " << seed;
    EXPECT_TRUE(validate(pr, *plan));
  }
  EXPECT_GE(checked, 50);
}

TEST(Bnb, AgreesWithTheMilpOnModuleSizedGraphs) {
  auto pf = load_platform(kDefaultPlatform);
  ASSERT_TRUE(pf);
  int compared = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    Graph g = seed % 2 ? module_chain(1, 3, seed) : random_dag(10, 0.25, seed);
    auto pr = Problem::build(g, *pf);
    ASSERT_TRUE(pr);
    SolveOptions o;
    o.time_limit_s = 60;
    auto m = solve("milp", *pr, o);
    auto b = solve("bnb", *pr, o);
    ASSERT_TRUE(m && b);
    EXPECT_TRUE(validate(*pr, *b));
    if (m->status != PlanStatus::kOptimal || b->status != PlanStatus::kOptimal) continue;
    EXPECT_NEAR(b->makespan_us, m->makespan_us, 1e-6 * m->makespan_us) << "seed " << seed;
    ++compared;
  }
  EXPECT_GE(compared, 5);
}

TEST(Bnb, StopsAtItsLimitWithTheIncumbent) {
  Problem pr = random_problem(7, RandomSpec{40, 3, 0.08, 0.0, false, false});
  auto heft = solve("heft", pr, {});
  ASSERT_TRUE(heft);
  Mapping start = heft->mapping(pr.num_devices());
  BnbResult r = branch_and_bound(pr, &start, 60, 1000);
  EXPECT_FALSE(r.proven);
  EXPECT_LE(r.expansions, 1001);
  ASSERT_TRUE(std::isfinite(r.makespan_us));
  EXPECT_LE(r.makespan_us, heft->makespan_us + 1e-9);
  SolveOptions o;
  o.time_limit_s = 0.2;
  auto plan = solve("bnb", pr, o);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->status, PlanStatus::kFeasible);
  EXPECT_LT(plan->solve_time_s, 5.0);
  EXPECT_TRUE(validate(pr, *plan));
}
