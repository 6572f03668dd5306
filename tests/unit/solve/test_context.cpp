#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "diviml/solve/context.hpp"
#include "diviml/solve/solve.hpp"
#include "support/random_problem.hpp"

using namespace diviml;
using diviml::testing::random_problem;

TEST(Context, WithinNeverExtendsTheDeadline) {
  SolveOptions o;
  o.time_limit_s = 5;
  SolveContext ctx = SolveContext::start(o);
  SolveContext narrow = ctx.within(1);
  EXPECT_LE(narrow.deadline, ctx.deadline);
  EXPECT_LE(narrow.options.time_limit_s, 1.0);
  SolveContext wide = narrow.within(100);
  EXPECT_EQ(wide.deadline, narrow.deadline);  // a share never outlives its parent
  EXPECT_LE(wide.seconds_left(), 1.0);
}

TEST(Context, CancellationStopsEveryShare) {
  std::atomic<bool> cancel{false};
  SolveContext ctx = SolveContext::start(SolveOptions{});
  ctx.cancel = &cancel;
  SolveContext share = ctx.within(10).for_subproblem();
  EXPECT_FALSE(share.stopped());
  cancel = true;
  EXPECT_TRUE(share.stopped());
  EXPECT_EQ(share.seconds_left(), 0.0);
}

TEST(Context, CacheStoresOnlyForItsOwnProblem) {
  Problem a = random_problem(1), b = random_problem(2);
  SolveCache cache(&a);
  int made = 0;
  auto make = [&] { return ++made; };
  EXPECT_EQ(cache.get<int>(a, "x", make), 1);
  EXPECT_EQ(cache.get<int>(a, "x", make), 1);  // stored
  EXPECT_EQ(cache.get<int>(b, "x", make), 2);  // another problem: made again, not stored
  EXPECT_EQ(cache.get<int>(b, "x", make), 3);
}

TEST(Context, ACancelledSolveReturnsAValidPlanAtOnce) {
  // Cancelled before it starts: every solver still answers with a valid plan (the baselines),
  // and the exact ones do not claim what they did not prove.
  Problem pr = random_problem(11, diviml::testing::RandomSpec{14, 3, 0.25, 0.0, true, false});
  std::atomic<bool> cancel{true};
  SolveHooks hooks;
  hooks.cancel = &cancel;
  for (const std::string& objective : objective_names()) {
    hooks.objective = find_objective(objective);
    for (const std::string& name : solver_names()) {
      if (!make_solver(name)->supports(*hooks.objective)) continue;
      auto plan = solve(name, pr, SolveOptions{}, hooks);
      ASSERT_TRUE(plan) << objective << " " << name << ": " << plan.error().message;
      EXPECT_TRUE(plan->status != PlanStatus::kOptimal || plan->value() <= plan->lower_bound_us * (1 + 1e-6))
          << objective << " " << name;
    }
  }
}

TEST(Context, ProgressReachesTheSink) {
  Problem pr = random_problem(12, diviml::testing::RandomSpec{12, 3, 0.25, 0.0, true, false});
  std::mutex m;
  std::vector<Progress> events;
  SolveHooks hooks;
  hooks.progress = [&](const Progress& p) {
    std::lock_guard<std::mutex> lock(m);
    events.push_back(p);
  };
  auto plan = solve("auto", pr, SolveOptions{}, hooks);
  ASSERT_TRUE(plan);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back().message, "done");
  EXPECT_DOUBLE_EQ(events.back().incumbent, plan->makespan_us);
  EXPECT_DOUBLE_EQ(events.back().bound, plan->lower_bound_us);
}
