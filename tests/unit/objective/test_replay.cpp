#include <gtest/gtest.h>

#include <cmath>
#include <random>

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
#include "support/oracle.hpp"
#include "support/random_problem.hpp"
#include "support/reference_heft.hpp"
#include "support/tricky_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

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

namespace {

// Devices a (the host) and b whose copies occupy them (overlap_comm false), 1 byte/us + 2 us.
const char* kOccupied = R"({"host": "a", "devices": [{"name": "a", "kind": "cpu", "overlap_comm": false},
    {"name": "b", "kind": "cpu", "overlap_comm": false}], "default_link": {"latency_us": 2, "bandwidth_gbps": 0.001}})";
// x (5 us on a) feeds y1 and y2 on b over 3- and 7-byte edges; c (10 us) runs on b meanwhile.
const char* kCopyGraph = R"({"nodes": [{"id": "x", "cost_us": {"a": 5, "b": 5}},
    {"id": "c", "cost_us": {"a": 10, "b": 10}}, {"id": "y1", "cost_us": {"a": 1, "b": 1}},
    {"id": "y2", "cost_us": {"a": 1, "b": 1}}],
    "edges": [{"src": "x", "dst": "y1", "bytes": 3}, {"src": "x", "dst": "y2", "bytes": 7}]})";
const Mapping kCopyMapping{{0, 1, 1, 1}, {{0}, {1, 2, 3}}};

}  // namespace

TEST(Replay, CopiesOccupyTheirDevicesOncePerDestination) {
  // With copy engines: the 7-byte copy lands at 5 + 9 = 14, y1 at 5 + 5 = 10 but b is busy
  // with c until 10: y1 [10, 11], y2 [14, 15].
  auto overlapped = replay(inline_problem(kCopyGraph, kTwo), kCopyMapping);
  ASSERT_TRUE(overlapped) << overlapped.error().message;
  EXPECT_DOUBLE_EQ(overlapped->makespan_us, 15.0);
  // Copies that occupy both ends: one copy of x to b (the larger tensor, 9 us) waits for b to
  // finish c, runs [10, 19], then y1 [19, 20] and y2 [20, 21].
  Problem pr = inline_problem(kCopyGraph, kOccupied);
  auto plan = replay(pr, kCopyMapping);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_DOUBLE_EQ(plan->placements[1].start_us, 0.0);
  EXPECT_DOUBLE_EQ(plan->placements[2].start_us, 19.0);
  EXPECT_DOUBLE_EQ(plan->placements[3].start_us, 20.0);
  EXPECT_DOUBLE_EQ(plan->makespan_us, 21.0);
  ASSERT_EQ(plan->transfers.size(), 2u);  // one per edge, both the same copy
  for (const Transfer& t : plan->transfers) {
    EXPECT_DOUBLE_EQ(t.start_us, 10.0);
    EXPECT_DOUBLE_EQ(t.end_us, 19.0);
  }
  Status ok = validate(pr, *plan);
  EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
  // The validator sees a copy that overlaps c on b, and transfers of one copy that differ.
  Plan early = *plan;
  for (Transfer& t : early.transfers) t.start_us = 5.0, t.end_us = 14.0;
  Status bad = validate(pr, early);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("overlap"), std::string::npos) << bad.error().message;
  Plan split = *plan;
  split.transfers[1].start_us = 10.5, split.transfers[1].end_us = 19.5;
  bad = validate(pr, split);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("differ in time"), std::string::npos) << bad.error().message;
}

TEST(Replay, OccupiedCopiesNeverShortenAScheduleAndEverySolverValidates) {
  // Property, over seeded tricky instances with some devices' copies occupying them: every
  // latency solver's plan validates; its makespan is at least the copy-engine replay of the
  // same mapping (occupancy only delays); its bound stays below the copy-engine optimum of the
  // exhaustive oracle (so below this problem's optimum, which cannot be lower).
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 120; ++seed) {
    auto made = tricky_problem(seed, 6, 3);
    if (!made) continue;
    Platform p = made->platform();
    std::mt19937_64 rng(seed);
    bool any = false;
    for (Device& d : p.devices)
      if (rng() % 2) d.overlap_comm = false, any = true;
    if (!any) p.devices[0].overlap_comm = false;
    auto occupied = Problem::build(made->graph(), p);
    ASSERT_TRUE(occupied) << occupied.error().message;
    const double opt_engines = Oracle(*made).optimum();
    SolveOptions options;
    options.time_limit_s = 5;
    for (const std::string& name : solver_names()) {
      if (!make_solver(name)->supports(latency_objective())) continue;
      SCOPED_TRACE("seed " + std::to_string(seed) + " solver " + name);
      auto plan = solve(name, *occupied, options);
      if (!std::isfinite(opt_engines)) {
        EXPECT_FALSE(plan);
        continue;
      }
      if (!plan) {
        EXPECT_TRUE(name == "fastest" || name == "uniform") << plan.error().message;
        continue;
      }
      ++checked;
      Status ok = validate(*occupied, *plan);
      EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
      auto engines = replay(*made, mapping_of(*occupied, *plan));
      ASSERT_TRUE(engines) << engines.error().message;
      auto again = replay(*occupied, mapping_of(*occupied, *plan));
      ASSERT_TRUE(again) << again.error().message;
      EXPECT_GE(again->makespan_us, engines->makespan_us - 1e-9 * std::max(1.0, engines->makespan_us));
      EXPECT_LE(plan->lower_bound_us, opt_engines * (1 + 1e-9) + 1e-9);
      if (plan->status == PlanStatus::kOptimal) {
        EXPECT_LE(plan->makespan_us, plan->lower_bound_us * (1 + 1e-6) + 1e-6);
      }
    }
  }
  EXPECT_GT(checked, 300);
}
