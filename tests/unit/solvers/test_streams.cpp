// What the throughput solvers share (src/solvers/streams.cpp, lean.cpp): the ranking rule,
// the realisation of a choice, pacing, and latency limits.
#include <gtest/gtest.h>

#include "diviml/objective/throughput.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solvers/lean.hpp"
#include "diviml/solvers/streams.hpp"
#include "support/inline_problem.hpp"

using namespace diviml;
using diviml::testing::inline_problem;

namespace {

SolveContext stream_context(double max_latency_us = 0) {
  SolveOptions o;
  o.time_limit_s = 10;
  o.max_latency_us = max_latency_us;
  SolveContext ctx = SolveContext::start(o);
  ctx.objective = &throughput_objective();
  return ctx;
}

// A chain of `n` ops of `cost` us on `k` identical devices joined by 1-us links.
Problem chain(int n, int k, double cost) {
  std::string nodes, edges, devices, links;
  for (int i = 0; i < n; ++i) {
    nodes += std::string(i ? ", " : "") + R"({"id": "n)" + std::to_string(i) + R"(", "flops": 0, "cost_us": {)";
    for (int d = 0; d < k; ++d)
      nodes += std::string(d ? ", " : "") + "\"d" + std::to_string(d) + "\": " + std::to_string(cost);
    nodes += "}}";
    if (i)
      edges += std::string(i > 1 ? ", " : "") + R"({"src": "n)" + std::to_string(i - 1) + R"(", "dst": "n)" +
               std::to_string(i) + R"(", "bytes": 8})";
  }
  for (int d = 0; d < k; ++d)
    devices += std::string(d ? ", " : "") + R"({"name": "d)" + std::to_string(d) + R"(", "kind": "gpu"})";
  return inline_problem(
      R"({"nodes": [)" + nodes + R"(], "edges": [)" + edges + "]}",
      R"({"host": "d0", "devices": [)" + devices + R"(], "default_link": {"latency_us": 1, "bandwidth_gbps": 1e9}})");
}

}  // namespace

TEST(StreamRank, TheRulePicksTheLeastLatencyWithinTheToleranceOfTheLeastPeriod) {
  StreamBest<int> best;
  best.offer({true, 100.0, 5000}, 1);
  best.offer({true, 100.4, 900}, 2);  // within 0.5% of 100: contends, lower latency
  best.offer({true, 100.8, 100}, 3);  // 0.8% above the least: not picked, however fast
  best.offer({false, 50.0, 10}, 4);   // does not fit memory: after every plan that does
  ASSERT_NE(best.best(), nullptr);
  EXPECT_EQ(*best.best(), 2);
  EXPECT_DOUBLE_EQ(best.least_period(), 100.0);
  // A lower period later drops what it leaves out of the tolerance.
  best.offer({true, 99.0, 7000}, 5);
  EXPECT_EQ(*best.best(), 5);
  // Nothing fits: the least period among those that do not.
  StreamBest<int> over;
  over.offer({false, 80.0, 10}, 1);
  over.offer({false, 70.0, 20}, 2);
  EXPECT_EQ(*over.best(), 2);
  over.offer({true, 500.0, 1}, 3);  // the first that fits wins over all of them
  EXPECT_EQ(*over.best(), 3);
  StreamBest<int> none;
  none.offer({true, kInf, 1}, 1);  // above a latency limit: never kept
  EXPECT_TRUE(none.empty());
}

// The realisation's rule (docs/formulation.md, "What latency a decision pays"): a one-lane
// pipeline whose k devices each run one contiguous stage reaches its busiest load with no
// delays at all, so one input waits no round: latency at most k periods plus its copies.
TEST(Realize, OneLanePipelineOverKDevicesWaitsNoRound) {
  for (int k : {2, 3, 4}) {
    const Problem pr = chain(4 * k, k, 10);
    std::vector<int> device(pr.num_nodes());
    for (int v = 0; v < pr.num_nodes(); ++v) device[v] = v / 4;  // stage s: ops 4s .. 4s + 3 on d_s
    const SolveContext ctx = stream_context();
    auto r = realize_pipeline(pr, ctx, device);
    ASSERT_TRUE(r) << k;
    auto plan = throughput_objective().evaluate(pr, r->output.mapping);
    ASSERT_TRUE(plan);
    EXPECT_NEAR(plan->period_us, 40.0, 1e-6 * 40) << k;
    const double copies = (k - 1) * 1.0;  // one 1-us hop between consecutive stages
    EXPECT_LE(plan->latency_us, k * plan->period_us + copies + 1e-6) << k;
    EXPECT_TRUE(throughput_objective().validate(pr, *plan));
  }
}

// Pacing: one input every pace_us at least; the plan records it as its period and validates; a
// slower pace never lengthens one input's time on a decision without delays.
TEST(Pacing, APacedPlanRunsAtItsPaceAndValidates) {
  const Problem pr = chain(6, 2, 10);
  std::vector<int> device = {0, 0, 0, 1, 1, 1};
  Mapping m = pipelined_mapping(pr, device, 0);
  auto fast = throughput_objective().evaluate(pr, m);
  ASSERT_TRUE(fast);
  double last = fast->latency_us;
  for (double pace : {45.0, 60.0, 100.0, 1000.0}) {
    m.pace_us = pace;
    auto plan = throughput_objective().evaluate(pr, m);
    ASSERT_TRUE(plan);
    EXPECT_NEAR(plan->period_us, std::max(pace, fast->period_us), 1e-6);
    EXPECT_LE(plan->latency_us, last + 1e-6);
    last = plan->latency_us;
    Plan file = *plan;
    EXPECT_TRUE(throughput_objective().validate(pr, file));
    file.period_us = fast->period_us * 0.9;  // faster than the devices allow: not what a replay gives
    EXPECT_FALSE(throughput_objective().validate(pr, file));
  }
  EXPECT_NEAR(last, 61.0, 1e-6);  // alone: 6 ops and one 1-us hop
}

// A latency limit is a constraint of every throughput solver: a plan within it, or exit 4 with
// the least latency found. Two 10-us devices on a chain of 8: the two-stage pipeline reaches
// 40 us at 81 us of latency; one device alone takes 80 us an input.
TEST(LatencyLimit, EveryThroughputSolverKeepsItOrSaysTheLeastLatencyFound) {
  const Problem pr = chain(8, 2, 10);
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  for (const std::string& name : solver_names()) {
    if (!make_solver(name)->supports(throughput_objective())) continue;
    SCOPED_TRACE(name);
    for (double limit : {85.0, 82.0, 200.0}) {
      SolveOptions o;
      o.time_limit_s = 5;
      o.max_latency_us = limit;
      auto plan = solve(name, pr, o, hooks);
      if (plan) {
        EXPECT_LE(plan->latency_us, limit * (1 + 1e-9));
        EXPECT_TRUE(throughput_objective().validate(pr, *plan));
      } else {
        EXPECT_EQ(plan.error().kind, ErrorKind::kInfeasible) << plan.error().message;
      }
    }
    SolveOptions o;
    o.time_limit_s = 5;
    o.max_latency_us = 50;  // below one input alone (80 us on one device, 81 over two)
    auto none = solve(name, pr, o, hooks);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().kind, ErrorKind::kInfeasible);
    EXPECT_NE(none.error().message.find("--max-latency-us 50 us"), std::string::npos) << none.error().message;
  }
  // auto finds the pipeline within 85 us, and says what the least latency was below 50.
  SolveOptions o;
  o.time_limit_s = 5;
  o.max_latency_us = 85;
  auto plan = solve("auto", pr, o, hooks);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_NEAR(plan->period_us, 40.0, 1e-6 * 40);
  o.max_latency_us = 50;
  auto none = solve("auto", pr, o, hooks);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("the least latency found is 8"), std::string::npos) << none.error().message;
}

// Lean (lean.cpp): a choice that alternates devices at every op has the least load but pays a
// hop per op; within the tolerance of its load, lean finds the contiguous stages that keep the
// load and shed the hops, and the realisation's latency falls.
TEST(Lean, FewerCrossingsWithinTheToleranceOfTheLoad) {
  const Problem pr = chain(8, 2, 10);
  const std::vector<int> alternating = {0, 1, 0, 1, 0, 1, 0, 1};
  const SolveContext ctx = stream_context();
  auto start = realize_pipeline(pr, ctx, alternating);
  ASSERT_TRUE(start);
  const double load = stream_loads(pr, alternating).max_load();
  std::vector<Realized> more = lean_choices(pr, ctx.within(5), alternating, load * (1 + kPeriodTolerance));
  ASSERT_FALSE(more.empty());
  double least = kInf;
  for (const Realized& r : more) {
    EXPECT_LE(r.rank.period, 40.0 * (1 + kPeriodTolerance) + 1e-6);
    least = std::min(least, r.rank.latency);
  }
  EXPECT_LT(least, start->rank.latency);
  EXPECT_LE(least, 81.0 + 1e-6);
}
