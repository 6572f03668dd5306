#include <gtest/gtest.h>

#include "../support/inline_problem.hpp"
#include "../support/random_problem.hpp"
#include "../support/reference_heft.hpp"
#include "../support/tricky_problem.hpp"

#include <cmath>

#include "diviml/io/json_io.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/fastest.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/moves.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/objective/validate.hpp"

#ifndef DIVIML_TEST_DATA
#define DIVIML_TEST_DATA "tests/data"
#endif

using namespace diviml;
using diviml::testing::inline_problem;

namespace {

Problem load(const std::string& graph, const std::string& platform) {
  auto g = read_graph_file(std::string(DIVIML_TEST_DATA) + "/" + graph);
  auto p = read_platform_file(std::string(DIVIML_TEST_DATA) + "/" + platform);
  EXPECT_TRUE(g) << g.error().message;
  EXPECT_TRUE(p) << p.error().message;
  auto pr = Problem::build(*g, *p);
  EXPECT_TRUE(pr) << pr.error().message;
  return *pr;
}


// Two devices, 1 byte/us link with latency 2.
const char* kTwo = R"({"host": "a", "devices": [{"name": "a", "kind": "cpu"}, {"name": "b", "kind": "gpu"}],
  "default_link": {"latency_us": 2, "bandwidth_gbps": 0.001}})";

}  // namespace

TEST(Heft, TopcuogluExampleHasMakespan80) {
  Problem pr = load("topcuoglu.graph.json", "topcuoglu.platform.json");
  // Upward ranks published in the paper (Table 1): n1 108.0, n3 80.0, n4 80.0, n10 14.67.
  auto rank = heft_upward_rank(pr);
  EXPECT_NEAR(rank[0], 108.0, 1e-9);
  EXPECT_NEAR(rank[2], 80.0, 1e-9);
  EXPECT_NEAR(rank[3], 80.0, 1e-9);
  EXPECT_NEAR(rank[1], 77.0, 1e-9);
  EXPECT_NEAR(rank[9], 14.0 + 2.0 / 3.0, 1e-9);
  auto plan = solve("heft", pr, {});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_DOUBLE_EQ(plan->makespan_us, 80.0);
  EXPECT_TRUE(validate(pr, *plan));
  // The paper's schedule: n1 on p3 [0,9], n10 on p2 [73,80].
  EXPECT_EQ(plan->placements[0].device, 2);
  EXPECT_DOUBLE_EQ(plan->placements[0].end_us, 9.0);
  EXPECT_EQ(plan->placements[9].device, 1);
  EXPECT_DOUBLE_EQ(plan->placements[9].start_us, 73.0);
}

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
  EXPECT_EQ(plan.error().message,
            "fastest: no single device can run the whole graph (node 'y' cannot run on 'a')");
  auto heft = solve("heft", pr, {});
  ASSERT_TRUE(heft) << heft.error().message;
  EXPECT_DOUBLE_EQ(heft->makespan_us, 1 + 2 + 1);
}

TEST(Heft, MemoryFullEverywhereIsAClearError) {
  Problem pr = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": 1}, "param_bytes": 80},
      {"id": "y", "cost_us": {"a": 1, "b": 1}, "param_bytes": 80}]})",
                              R"({"devices": [{"name": "a", "kind": "cpu", "memory_bytes": 100},
      {"name": "b", "kind": "gpu", "memory_bytes": 50}]})");
  auto plan = solve("heft", pr, {});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("heft: node 'y' fits on no device"), std::string::npos);
}

TEST(Solve, UnknownSolverListsKnownOnes) {
  Problem pr = load("topcuoglu.graph.json", "topcuoglu.platform.json");
  auto plan = solve("magic", pr, {});
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message.rfind("unknown solver 'magic' (known: auto, fastest, heft", 0), 0u);
}

TEST(Replay, ComputesTransfersAndHostIo) {
  Problem pr = inline_problem(R"({"nodes": [
      {"id": "x", "cost_us": {"a": 5, "b": 1}, "input_bytes": 4},
      {"id": "y", "cost_us": {"a": 5, "b": 3}, "output_bytes": 6}],
      "edges": [{"src": "x", "dst": "y", "bytes": 10}]})",
                              kTwo);
  Mapping m{{1, 0}, {{1}, {0}}};
  auto plan = replay(pr, m);
  ASSERT_TRUE(plan) << plan.error().message;
  // x waits 2+4 for its input on b, runs 1; transfer to a 2+10; y runs 5 on the host.
  EXPECT_DOUBLE_EQ(plan->placements[0].start_us, 6.0);
  EXPECT_DOUBLE_EQ(plan->placements[1].start_us, 7.0 + 12.0);
  EXPECT_DOUBLE_EQ(plan->makespan_us, 24.0);
  ASSERT_EQ(plan->transfers.size(), 1u);
  EXPECT_DOUBLE_EQ(plan->transfers[0].end_us, 19.0);
  ASSERT_EQ(plan->host_transfers.size(), 1u);  // y is on the host: no output transfer
  EXPECT_FALSE(plan->host_transfers[0].to_host);
  // The other way round: y on b returns 2+6 to the host.
  auto plan2 = replay(pr, Mapping{{0, 1}, {{0}, {1}}});
  ASSERT_TRUE(plan2);
  EXPECT_DOUBLE_EQ(plan2->makespan_us, 5 + 12 + 3 + 8);
}

TEST(Replay, RejectsOrderAgainstPrecedence) {
  Problem pr = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": 1}},
      {"id": "y", "cost_us": {"a": 1, "b": 1}}], "edges": [{"src": "x", "dst": "y"}]})",
                              kTwo);
  auto plan = replay(pr, Mapping{{0, 0}, {{1, 0}, {}}});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("contradicts precedence"), std::string::npos);
  EXPECT_FALSE(replay(pr, Mapping{{0, 1}, {{0}, {}}}));  // y missing from b's order
}

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

TEST(LowerBound, CriticalPathAndWork) {
  Problem pr = load("topcuoglu.graph.json", "topcuoglu.platform.json");
  // Device-aware critical path can never exceed HEFT's 80.
  double cp = critical_path_bound_us(pr);
  EXPECT_GT(cp, 0);
  EXPECT_LE(cp, 80.0);
  // Work bound: sum of per-node minima / 3 = (9+13+11+8+10+9+7+5+12+7)/3 = 91/3.
  EXPECT_NEAR(average_work_bound_us(pr), 91.0 / 3.0, 1e-9);
  EXPECT_DOUBLE_EQ(lower_bound_us(pr), std::max(cp, 91.0 / 3.0));
}

TEST(LowerBound, ChainOnOneDeviceIsTight) {
  Problem pr = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 3, "b": 9}},
      {"id": "y", "cost_us": {"a": 4, "b": 9}}], "edges": [{"src": "x", "dst": "y", "bytes": 100}]})",
                              kTwo);
  EXPECT_DOUBLE_EQ(critical_path_bound_us(pr), 7.0);
  auto plan = solve("heft", pr, {});
  ASSERT_TRUE(plan);
  EXPECT_DOUBLE_EQ(plan->makespan_us, 7.0);
  EXPECT_EQ(plan->status, PlanStatus::kOptimal);  // meets its bound: proven
}

TEST(Heft, GapIndexPlacesLikeTheTextbookSlotScan) {
  // The solver finds gaps through an index; the reference scans every slot. Same list, same
  // placement, on instances with zero costs, forbidden devices, memory and missing links.
  int compared = 0;
  for (std::uint64_t seed = 1; seed <= 400; ++seed) {
    auto pr = diviml::testing::tricky_problem(seed, 12, 3);
    if (!pr) continue;
    Mapping want = diviml::testing::reference_heft(*pr, heft_priority(*pr));
    auto got = HeftSolver().run(*pr, {});
    if (want.device.empty()) continue;  // greedy stuck: the solver falls back to a search
    ASSERT_TRUE(got) << "seed " << seed;
    EXPECT_EQ(got->mapping.device, want.device) << "seed " << seed;
    EXPECT_EQ(got->mapping.order, want.order) << "seed " << seed;
    ++compared;
  }
  EXPECT_GT(compared, 300);
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {  // larger: many gaps per device
    Problem pr = diviml::testing::random_problem(seed, {300, 4, 0.01, 0.1, true, false});
    Mapping want = diviml::testing::reference_heft(pr, heft_priority(pr));
    auto got = HeftSolver().run(pr, {});
    ASSERT_TRUE(got && !want.device.empty());
    EXPECT_EQ(got->mapping.order, want.order) << "seed " << seed;
  }
}
