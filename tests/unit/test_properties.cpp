// Seeded random-DAG property tests: every plan from every solver passes the validator, the
// lower bound never exceeds any plan's makespan, and on instances small enough to enumerate
// it never exceeds the true optimum either.
#include <gtest/gtest.h>

#include "../support/brute_force.hpp"
#include "../support/random_problem.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/sched/lower_bound.hpp"
#include "diviml/sched/solver.hpp"
#include "diviml/sched/validate.hpp"

using namespace diviml;
using diviml::testing::RandomSpec;
using diviml::testing::random_problem;

TEST(Properties, EverySolverPlanIsValidAndAboveTheBound) {
  int plans = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    RandomSpec spec;
    spec.nodes = 5 + static_cast<int>(seed % 40);
    spec.devices = 2 + static_cast<int>(seed % 4);
    spec.edge_prob = 0.1 + 0.05 * static_cast<double>(seed % 6);
    spec.forbid_prob = seed % 3 == 0 ? 0.3 : 0.0;
    spec.memory = seed % 5 == 0;
    Problem pr = random_problem(seed, spec);
    const double lb = lower_bound_us(pr);
    for (const std::string& name : solver_names()) {
      // The exact solver is covered on instances it proves (test_milp); here only small ones.
      if ((name == "milp" && spec.nodes > 14) || (name == "split" && spec.nodes > 24)) continue;
      SolveOptions opt;
      opt.time_limit_s = 1;  // validity, not optimality, is the property here
      auto plan = solve(name, pr, opt);
      if (!plan) {
        // Only capacity or capability limits may stop a solver, and then with a message.
        EXPECT_TRUE(spec.memory || spec.forbid_prob > 0) << name << " seed " << seed << ": " << plan.error().message;
        continue;
      }
      ++plans;
      Status s = validate(pr, *plan);
      EXPECT_TRUE(s) << name << " seed " << seed << ": " << (s ? "" : s.error().message);
      EXPECT_LE(lb, plan->makespan_us * (1 + 1e-9)) << name << " seed " << seed;
      EXPECT_LE(plan->lower_bound_us, plan->makespan_us) << name << " seed " << seed;
      // The written plan re-reads and re-validates to the same makespan.
      auto back = parse_plan(plan_to_json(pr, *plan), "plan.json", pr);
      ASSERT_TRUE(back) << back.error().message;
      EXPECT_TRUE(validate(pr, *back)) << name << " seed " << seed;
      EXPECT_DOUBLE_EQ(back->makespan_us, plan->makespan_us);
    }
  }
  EXPECT_GT(plans, 100);
}

TEST(Properties, BoundNeverExceedsTheEnumeratedOptimum) {
  int tight = 0;
  for (std::uint64_t seed = 100; seed < 140; ++seed) {
    RandomSpec spec;
    spec.nodes = 3 + static_cast<int>(seed % 5);  // up to 7 nodes
    spec.devices = 2 + static_cast<int>(seed % 2);
    spec.edge_prob = 0.35;
    spec.forbid_prob = seed % 4 == 0 ? 0.3 : 0.0;
    spec.memory = seed % 3 == 0;
    Problem pr = random_problem(seed, spec);
    double opt = diviml::testing::brute_force_optimum(pr);
    if (!std::isfinite(opt)) continue;
    double lb = lower_bound_us(pr);
    EXPECT_LE(lb, opt * (1 + 1e-9)) << "seed " << seed;
    if (lb >= opt * (1 - 1e-9)) ++tight;
    for (const std::string& name : solver_names()) {
      auto plan = solve(name, pr, {});
      if (!plan) continue;
      if (name == "milp") {
        EXPECT_EQ(plan->status, PlanStatus::kOptimal) << "seed " << seed;
        EXPECT_NEAR(plan->makespan_us, opt, 1e-6 * opt) << "milp misses the optimum, seed " << seed;
      }
      EXPECT_GE(plan->makespan_us, opt * (1 - 1e-9)) << name << " beats the optimum, seed " << seed;
      if (plan->status == PlanStatus::kOptimal) EXPECT_NEAR(plan->makespan_us, opt, 1e-6 * opt);
    }
  }
  RecordProperty("tight_bounds", tight);
}

TEST(Properties, SameInputSamePlan) {
  Problem pr = random_problem(7, RandomSpec{12, 3, 0.2, 0.1, true, false});
  for (const std::string& name : solver_names()) {
    auto a = solve(name, pr, {});
    auto b = solve(name, pr, {});
    ASSERT_TRUE(a && b);
    a->solve_time_s = b->solve_time_s = 0;
    a->notes.clear();  // notes carry wall-clock times
    b->notes.clear();
    EXPECT_EQ(plan_to_json(pr, *a), plan_to_json(pr, *b)) << name;
  }
}

TEST(Properties, AutoIsTheBestOfTheBaselines) {
  int heft_lost = 0;
  for (std::uint64_t seed = 200; seed < 230; ++seed) {
    Problem pr = random_problem(seed, RandomSpec{10 + static_cast<int>(seed % 20), 3, 0.25, 0.0, true, false});
    SolveOptions opt;
    opt.time_limit_s = 1;
    auto a = solve("auto", pr, opt);
    auto f = solve("fastest", pr, opt);
    auto h = solve("heft", pr, opt);
    ASSERT_TRUE(a && f && h);
    EXPECT_LE(a->makespan_us, std::min(f->makespan_us, h->makespan_us)) << "seed " << seed;
    if (h->makespan_us > f->makespan_us) ++heft_lost;
    ASSERT_FALSE(a->notes.empty());
    EXPECT_EQ(a->notes[0].rfind("auto chose ", 0), 0u);
  }
  RecordProperty("heft_lost_to_fastest", heft_lost);
}
