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

TEST(Validate, CatchesEachKindOfViolation) {
  Problem pr = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 4, "b": 1}, "param_bytes": 10},
      {"id": "y", "cost_us": {"a": 4, "b": 1}, "param_bytes": 10},
      {"id": "z", "cost_us": {"a": 4, "b": 1}}],
      "edges": [{"src": "x", "dst": "y", "bytes": 3}]})",
                              R"({"host": "a", "devices": [{"name": "a", "kind": "cpu"},
      {"name": "b", "kind": "gpu", "memory_bytes": 15}],
      "default_link": {"latency_us": 2, "bandwidth_gbps": 0.001}})");
  auto good = replay(pr, Mapping{{0, 0, 1}, {{0, 1}, {2}}});
  ASSERT_TRUE(good);
  ASSERT_TRUE(validate(pr, *good));
  auto expect_violation = [&](Plan p, const std::string& fragment) {
    Status s = validate(pr, p);
    ASSERT_FALSE(s) << "expected: " << fragment;
    EXPECT_NE(s.error().message.find(fragment), std::string::npos) << s.error().message;
  };
  Plan p = *good;
  p.placements[1].start_us = 3;  // before x ends
  p.placements[1].end_us = 7;
  expect_violation(p, "edge x -> y");
  p = *good;
  p.placements[1].device = 1;  // y on b: needs x's data by 4+2+3 = 9
  p.placements[1].start_us = 4;
  p.placements[1].end_us = 5;
  expect_violation(p, "edge x -> y: 'y' starts at 4 us but its input is ready at 9 us");
  p = *good;
  p.placements[2].end_us = 2;  // wrong duration
  expect_violation(p, "duration 2 us differs from its cost 1 us");
  p = *good;
  p.placements[2] = Placement{2, 0, 1, 5};  // overlaps x on a
  expect_violation(p, "overlap");
  p = *good;
  p.placements[0] = Placement{0, 1, 0, 1};  // x and y on b: 20 bytes > 15
  p.placements[1] = Placement{1, 1, 1, 2};
  p.placements[2] = Placement{2, 0, 0, 4};
  p.makespan_us = 4;
  expect_violation(p, "resident weights 20 bytes exceed memory_bytes 15");
  p = *good;
  p.makespan_us -= 1;
  expect_violation(p, "makespan_us");
  p = *good;
  p.lower_bound_us = p.makespan_us + 1;
  expect_violation(p, "exceeds makespan_us");
  p = *good;
  p.placements.pop_back();
  expect_violation(p, "node 'z' is not placed");
}

TEST(Validate, IsTheReferee) {
  // a <-> b linked, c reachable from nobody: a plan that needs a-c must be refused (an
  // infinite delay must not turn into an infinite tolerance).
  Problem pr = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 4, "b": 1, "c": 1}},
      {"id": "y", "cost_us": {"a": 4, "b": 1, "c": 1}}],
      "edges": [{"src": "x", "dst": "y", "bytes": 3}]})",
                              R"({"host": "a", "devices": [{"name": "a", "kind": "cpu"},
      {"name": "b", "kind": "gpu"}, {"name": "c", "kind": "gpu"}],
      "links": [{"a": "a", "b": "b", "latency_us": 2, "bandwidth_gbps": 0.001}]})");
  auto good = replay(pr, Mapping{{0, 1}, {{0}, {1}, {}}});
  ASSERT_TRUE(good);
  ASSERT_TRUE(validate(pr, *good));
  ASSERT_EQ(good->transfers.size(), 1u);
  auto expect_violation = [&](Plan p, const std::string& fragment) {
    Status s = validate(pr, p);
    ASSERT_FALSE(s) << "expected: " << fragment;
    EXPECT_NE(s.error().message.find(fragment), std::string::npos) << s.error().message;
  };
  Plan p = *good;
  p.placements[1].device = 2;  // y on c: no link a -> c
  p.transfers[0].to = 2;
  expect_violation(p, "needs a link from 'a' to 'c', which the platform lacks");
  p = *good;
  p.status = PlanStatus::kOptimal;
  p.lower_bound_us = p.makespan_us * 0.9;
  expect_violation(p, "status 'optimal' but makespan_us");
  p.lower_bound_us = p.makespan_us;  // meets its bound: fine
  EXPECT_TRUE(validate(pr, p));
  p = *good;
  p.lower_bound_us = std::nan("");
  expect_violation(p, "lower_bound_us must be a finite number");
  p = *good;
  p.placements[0].start_us = std::nan("");
  expect_violation(p, "must be finite");
  p = *good;
  p.transfers[0].end_us = kInf;
  expect_violation(p, "must be finite");
  p = *good;
  p.transfers.clear();
  expect_violation(p, "edge x -> y crosses from 'a' to 'b' but the plan lists no transfer for it");
  p = *good;
  p.transfers.push_back(p.transfers[0]);
  expect_violation(p, "listed twice");
  p = *good;
  p.transfers[0].from = 1;  // does not match x's placement
  expect_violation(p, "devices do not match the placements");
  auto local = replay(pr, Mapping{{0, 0}, {{0, 1}, {}, {}}});
  ASSERT_TRUE(local);
  p = *local;
  p.transfers.push_back(Transfer{0, 0, 0, 4, 4});  // x and y both on a
  expect_violation(p, "both ends run on 'a', nothing moves");
}
