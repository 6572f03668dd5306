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

TEST(Fastest, PicksTheBestSingleDevice) {
  Problem pr = load("topcuoglu.graph.json", "topcuoglu.platform.json");
  auto plan = solve("fastest", pr, {});
  ASSERT_TRUE(plan) << plan.error().message;
  // Sums per processor: p1 127, p2 130, p3 143.
  EXPECT_DOUBLE_EQ(plan->makespan_us, 127.0);
  for (const auto& p : plan->placements) EXPECT_EQ(p.device, 0);
}

TEST(Fastest, RespectsMemoryAndCannotRun) {
  Problem pr = inline_problem(R"({"nodes": [
      {"id": "x", "cost_us": {"a": 10, "b": 1}, "param_bytes": 50},
      {"id": "y", "cost_us": {"a": 10, "b": 1}, "param_bytes": 60}],
      "edges": [{"src": "x", "dst": "y", "bytes": 1}]})",
                              R"({"host": "a", "devices": [{"name": "a", "kind": "cpu"},
      {"name": "b", "kind": "gpu", "memory_bytes": 100}],
      "default_link": {"latency_us": 2, "bandwidth_gbps": 0.001}})");
  auto plan = solve("fastest", pr, {});
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->placements[0].device, 0);  // b cannot hold 110 bytes
  EXPECT_DOUBLE_EQ(plan->makespan_us, 20.0);
  auto heft = solve("heft", pr, {});
  ASSERT_TRUE(heft);
  EXPECT_TRUE(validate(pr, *heft));
}

TEST(Fastest, FailsClearlyWhenNoDeviceHoldsEverything) {
  Problem pr = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": null}},
      {"id": "y", "cost_us": {"a": null, "b": 1}}], "edges": [{"src": "x", "dst": "y"}]})",
                              kTwo);
  auto plan = solve("fastest", pr, {});
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message, "fastest: no single device gives a plan (node 'y' cannot run on 'a')");
  auto heft = solve("heft", pr, {});
  ASSERT_TRUE(heft) << heft.error().message;
  EXPECT_DOUBLE_EQ(heft->makespan_us, 1 + 2 + 1);
}
