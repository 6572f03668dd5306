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

TEST(Milp, ModelSkipsPairsOrderedByTheClosure) {
  // A chain needs no order binary at all; two independent nodes need one.
  Problem chain = random_problem(3, RandomSpec{6, 2, 1.0, 0.0, false, false});  // complete DAG
  EXPECT_TRUE(build_latency_milp(chain, nullptr).order.empty());
  Problem pair = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": 2}},
      {"id": "y", "cost_us": {"a": 1, "b": 2}}]})",
                                R"({"devices": [{"name": "a", "kind": "cpu"}, {"name": "b", "kind": "gpu"}]})");
  EXPECT_EQ(build_latency_milp(pair, nullptr).order.size(), 1u);
}
