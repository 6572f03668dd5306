// The exact latency MILP: optimality against exhaustive enumeration, time limits, threads and
// seeds, memory capacities, and the CBC backend on its own.
#include <gtest/gtest.h>

#include "../support/inline_problem.hpp"

#include <chrono>

#include "../support/brute_force.hpp"
#include "../support/random_problem.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/milp/milp.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/milp/latency_milp.hpp"
#include "diviml/solvers/milp.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/objective/validate.hpp"

using namespace diviml;
using diviml::testing::inline_problem;
using diviml::testing::RandomSpec;
using diviml::testing::random_problem;

namespace {


}  // namespace

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
  auto t0 = std::chrono::steady_clock::now();
  auto plan = solve("milp", pr, opt);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->status, PlanStatus::kFeasible);
  EXPECT_LE(plan->makespan_us, heft->makespan_us);
  EXPECT_GE(plan->lower_bound_us, lower_bound_us(pr) * (1 - 1e-9));
  EXPECT_LT(plan->lower_bound_us, plan->makespan_us);
  EXPECT_LT(wall, 1.0 + 2.0);  // the limit plus model building and CBC's start-up
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
  Problem pr = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": 1}, "param_bytes": 80},
      {"id": "y", "cost_us": {"a": 1, "b": 1}, "param_bytes": 80}]})",
                              R"({"devices": [{"name": "a", "kind": "cpu", "memory_bytes": 100},
      {"name": "b", "kind": "gpu", "memory_bytes": 50}]})");
  auto plan = solve("milp", pr, {});
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message.rfind("milp: no plan exists: the weights cannot be placed within the devices' "
                                       "memory_bytes",
                                       0),
            0u)
      << plan.error().message;
}

TEST(Milp, ModelSkipsPairsOrderedByTheClosure) {
  // A chain needs no order binary at all; two independent nodes need one.
  Problem chain = random_problem(3, RandomSpec{6, 2, 1.0, 0.0, false, false});  // complete DAG
  EXPECT_TRUE(build_latency_milp(chain, nullptr).order.empty());
  Problem pair = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": 2}},
      {"id": "y", "cost_us": {"a": 1, "b": 2}}]})",
                                R"({"devices": [{"name": "a", "kind": "cpu"}, {"name": "b", "kind": "gpu"}]})");
  EXPECT_EQ(build_latency_milp(pair, nullptr).order.size(), 1u);
}

namespace {

// A backend that always fails, as a crashed solver process does.
class BrokenBackend : public MilpBackend {
 public:
  std::string name() const override { return "broken"; }
  Result<MilpResult> solve(const MilpModel&, const MilpOptions&) const override {
    return fail("cbc: the solver process crashed (signal 11)");
  }
};

}  // namespace

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
