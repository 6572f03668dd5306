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

TEST(Milp, EqualsTheEnumeratedOptimumOnTinyInstances) {
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 36; ++seed) {
    RandomSpec spec;
    spec.nodes = 4 + static_cast<int>(seed % 4);  // 4..7 ops
    spec.devices = 3;
    spec.edge_prob = 0.2 + 0.1 * static_cast<double>(seed % 4);
    spec.forbid_prob = seed % 5 == 0 ? 0.25 : 0.0;
    spec.memory = seed % 3 == 0;
    Problem pr = random_problem(seed, spec);
    double opt = diviml::testing::brute_force_optimum(pr);
    auto plan = solve("milp", pr, {});
    if (!std::isfinite(opt)) {
      ASSERT_FALSE(plan) << "seed " << seed << ": milp found a plan where none exists";
      continue;
    }
    ASSERT_TRUE(plan) << "seed " << seed << ": " << plan.error().message;
    ++checked;
    EXPECT_EQ(plan->status, PlanStatus::kOptimal) << "seed " << seed;
    EXPECT_NEAR(plan->makespan_us, opt, 1e-6 * opt) << "seed " << seed;
    EXPECT_LE(plan->lower_bound_us, opt * (1 + 1e-9)) << "seed " << seed;
    EXPECT_LE(lower_bound_us(pr), opt * (1 + 1e-9)) << "seed " << seed;
    EXPECT_LE(lp_work_bound_us(pr), opt * (1 + 1e-9)) << "seed " << seed;
    EXPECT_TRUE(validate(pr, *plan));
  }
  EXPECT_GE(checked, 30);
}

TEST(Milp, TopcuogluExampleBeatsHeft) {
  auto g = read_graph_file(std::string(DIVIML_TEST_DATA) + "/topcuoglu.graph.json");
  auto p = read_platform_file(std::string(DIVIML_TEST_DATA) + "/topcuoglu.platform.json");
  auto pr = Problem::build(*g, *p);
  ASSERT_TRUE(pr);
  auto plan = solve("milp", *pr, {});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->status, PlanStatus::kOptimal);
  EXPECT_DOUBLE_EQ(plan->makespan_us, 73.0);  // HEFT: 80
  EXPECT_NEAR(plan->lower_bound_us, 73.0, 1e-4);
}

TEST(Milp, TimeLimitReturnsTheBestPlanAsFeasibleWithABound) {
  Problem pr = random_problem(42, RandomSpec{60, 3, 0.06, 0.0, true, false});
  auto heft = solve("heft", pr, {});
  ASSERT_TRUE(heft);
  SolveOptions opt;
  opt.time_limit_s = 1.0;
  auto plan = solve("milp", pr, opt);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->status, PlanStatus::kFeasible);
  EXPECT_LE(plan->makespan_us, heft->makespan_us);
  EXPECT_GE(plan->lower_bound_us, lower_bound_us(pr) * (1 - 1e-9));
  EXPECT_LT(plan->lower_bound_us, plan->makespan_us);
  EXPECT_TRUE(validate(pr, *plan));
}

TEST(Milp, SameSeedAndThreadsGiveTheSamePlan) {
  Problem pr = random_problem(5, RandomSpec{12, 3, 0.15, 0.0, true, false});
  for (int threads : {1, 2}) {
    SolveOptions opt;
    opt.threads = threads;
    opt.seed = 11;
    auto a = solve("milp", pr, opt);
    auto b = solve("milp", pr, opt);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->status, PlanStatus::kOptimal);
    a->solve_time_s = b->solve_time_s = 0;
    a->notes.clear();
    b->notes.clear();
    EXPECT_EQ(plan_to_json(pr, *a), plan_to_json(pr, *b)) << "threads " << threads;
  }
}

TEST(Milp, PacksWeightsWhereGreedyHeftFails) {
  // Capacities 100 + 100, weights 50 50 60 40: only {60,40} {50,50} fits. HEFT's greedy
  // spreads the two 50s over both devices, then has no room for 60: it falls back to a search
  // for an assignment that fits (and says so); the MILP packs them optimally.
  const char* platform = R"({"devices": [{"name": "a", "kind": "gpu", "memory_bytes": 100},
      {"name": "b", "kind": "gpu", "memory_bytes": 100}], "default_link": {"latency_us": 1, "bandwidth_gbps": 1}})";
  Problem pr = inline_problem(R"({"nodes": [
      {"id": "w50a", "cost_us": {"a": 10, "b": 10}, "param_bytes": 50},
      {"id": "w50b", "cost_us": {"a": 10, "b": 10}, "param_bytes": 50},
      {"id": "w60", "cost_us": {"a": 10, "b": 10}, "param_bytes": 60},
      {"id": "w40", "cost_us": {"a": 10, "b": 10}, "param_bytes": 40}]})",
                              platform);
  auto heft = solve("heft", pr, {});
  ASSERT_TRUE(heft) << heft.error().message;
  EXPECT_TRUE(validate(pr, *heft));
  ASSERT_FALSE(heft->notes.empty());
  EXPECT_NE(heft->notes[0].find("assignment found by search"), std::string::npos);
  auto plan = solve("milp", pr, {});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->status, PlanStatus::kOptimal);
  EXPECT_DOUBLE_EQ(plan->makespan_us, 20.0);
  EXPECT_TRUE(validate(pr, *plan));
  EXPECT_EQ(plan->placements[0].device, plan->placements[1].device);
}

TEST(Milp, WeightsThatFitNowhereAreAClearError) {
  // Each node fits somewhere and all fit in total (190 of 200 bytes), so the static shortfall
  // does not fire: the MILP itself proves that no packing fits.
  Problem pr = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": 1}, "param_bytes": 80},
      {"id": "y", "cost_us": {"a": 1, "b": 1}, "param_bytes": 80},
      {"id": "z", "cost_us": {"a": 1, "b": 1}, "param_bytes": 30}]})",
                              R"({"devices": [{"name": "a", "kind": "cpu", "memory_bytes": 100},
      {"name": "b", "kind": "gpu", "memory_bytes": 100}]})");
  auto plan = solve("milp", pr, {});
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message.rfind("milp: no plan exists: the weights cannot be placed within the devices' "
                                       "memory_bytes",
                                       0),
            0u)
      << plan.error().message;
}

TEST(Milp, ABackendFailureKeepsTheIncumbentPlan) {
  Problem pr = random_problem(9, RandomSpec{15, 3, 0.2, 0.0, true, false});
  MilpSolver solver(std::make_unique<BrokenBackend>());
  auto out = solver.run(pr, {});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->status, PlanStatus::kFeasible);
  ASSERT_FALSE(out->notes.empty());
  EXPECT_NE(out->notes.back().find("crashed (signal 11)"), std::string::npos);
  auto heft = solve("heft", pr, {});
  auto plan = replay(pr, out->mapping);
  ASSERT_TRUE(heft && plan);
  EXPECT_LE(plan->makespan_us, heft->makespan_us);
}
