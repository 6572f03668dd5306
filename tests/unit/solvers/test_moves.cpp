#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/fastest.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/moves.hpp"
#include "diviml/solvers/split.hpp"
#include "support/brute_force.hpp"
#include "support/fixtures.hpp"
#include "support/inline_problem.hpp"
#include "support/random_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

namespace {

// Random instances of `least` to `least + spread - 1` ops (by seed) on 2-3 devices, with edge
// densities 0.2-0.5.
RandomSpec varied_spec(std::uint64_t seed, int least, int spread) {
  RandomSpec spec;
  spec.nodes = least + static_cast<int>(seed % static_cast<std::uint64_t>(spread));
  spec.devices = 2 + static_cast<int>(seed % 2);
  spec.edge_prob = 0.2 + 0.1 * static_cast<double>(seed % 4);
  return spec;
}

}  // namespace

TEST(ImproveByMoves, NeverWorseAlwaysValidAndFindsAHiddenBranch) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    diviml::testing::RandomSpec spec;
    spec.nodes = 10 + static_cast<int>(seed);
    spec.memory = seed % 2 == 0;
    Problem pr = diviml::testing::random_problem(seed, spec);
    auto h = solve("heft", pr, {});
    if (!h) continue;
    Mapping better = improve_by_moves(pr, mapping_of(pr, *h), 10);
    auto p = replay(pr, better);
    ASSERT_TRUE(p) << "seed " << seed;
    EXPECT_LE(p->makespan_us, h->makespan_us * (1 + 1e-9));
    EXPECT_TRUE(validate(pr, *p)) << "seed " << seed;
  }
  // A short branch off the input (r1 -> r2), run last on the main device: moving nodes to the
  // idle device hides it behind the long path.
  Problem pr = eight_nodes("in p1 p1 p2 p2 q1 q1 q2 q2 out in r1 r1 r2 r2 out");
  Mapping m;
  m.device.assign(pr.num_nodes(), 0);
  m.order.assign(2, {});
  for (int v : pr.graph().topo_order()) m.order[0].push_back(v);
  const double all_on_a = replay(pr, m)->makespan_us;
  Mapping moved = improve_by_moves(pr, m, 10);
  EXPECT_NEAR(all_on_a, 62, 1e-6);
  // Moving r1 alone gives 52 us; the second criterion (sum of ends at equal makespan) lets the
  // search cross the plateaus to 42 us, the main path alone on a.
  auto moved_plan = replay(pr, moved);
  ASSERT_TRUE(moved_plan);
  EXPECT_NEAR(moved_plan->makespan_us, 42, 0.001);
  // A proven floor at the start's makespan: nothing can beat it, so nothing moves.
  MoveCounts counts;
  Mapping kept = improve_by_moves(pr, m, 10, &counts, all_on_a);
  EXPECT_EQ(counts.total() + counts.kicks, 0);
  EXPECT_NEAR(replay(pr, kept)->makespan_us, all_on_a, 1e-9);
  // A floor at the optimum (42 us): the search gets there and ends.
  Mapping floored = improve_by_moves(pr, m, 10, nullptr, 42);
  EXPECT_NEAR(replay(pr, floored)->makespan_us, 42, 0.001);
}

// Two branches of two 10 us nodes between an input and an output (1 us each), all on device a
// (42 us). Inside each branch the tensor is 1 MB (100 us over the link), at its ends 1 byte: no
// single node can leave a without crossing a 100 us edge, but a whole branch can go to b and
// run beside the other one (24 us; then out can follow it to b, 23 us).
TEST(ImproveByMoves, MovesAWholeBranchWhereNoSingleNodeMovePays) {
  const std::string graph = R"({"format": "diviml.graph/1", "name": "branches", "nodes": [
      {"id": "in", "op": "x", "cost_us": {"a": 1, "b": 1}},
      {"id": "p1", "op": "x", "cost_us": {"a": 10, "b": 10}}, {"id": "p2", "op": "x", "cost_us": {"a": 10, "b": 10}},
      {"id": "r1", "op": "x", "cost_us": {"a": 10, "b": 10}}, {"id": "r2", "op": "x", "cost_us": {"a": 10, "b": 10}},
      {"id": "out", "op": "x", "cost_us": {"a": 1, "b": 1}}],
    "edges": [{"src": "in", "dst": "p1", "bytes": 1}, {"src": "p1", "dst": "p2", "bytes": 1000000},
              {"src": "p2", "dst": "out", "bytes": 1}, {"src": "in", "dst": "r1", "bytes": 1},
              {"src": "r1", "dst": "r2", "bytes": 1000000}, {"src": "r2", "dst": "out", "bytes": 1}]})";
  Problem pr = inline_problem(graph, kTwoDevices);
  Mapping m;
  m.device.assign(pr.num_nodes(), 0);
  m.order.assign(2, {});
  for (int v : pr.graph().topo_order()) m.order[0].push_back(v);
  const double all_on_a = replay(pr, m)->makespan_us;
  EXPECT_NEAR(all_on_a, 42, 1e-6);
  // Every single-node move (inserted anywhere on b) is slower than all on a.
  for (int v = 0; v < pr.num_nodes(); ++v) {
    Mapping t = m;
    t.order[0].erase(std::find(t.order[0].begin(), t.order[0].end(), v));
    t.order[1] = {v};
    t.device[v] = 1;
    auto p = replay(pr, t);
    if (p) {
      EXPECT_GT(p->makespan_us, all_on_a) << pr.graph().nodes[v].id;
    }
  }
  MoveCounts counts;
  Mapping moved = improve_by_moves(pr, m, 10, &counts);
  auto plan = replay(pr, moved);
  ASSERT_TRUE(plan);
  EXPECT_LE(plan->makespan_us, 24.01);
  EXPECT_GE(counts.branches, 1);
  EXPECT_TRUE(validate(pr, *plan));
}

// x and z run only on a, y only on b (x -> y); a runs z before x, so y waits for both (34 us).
// No device can change; running x first lets y run beside z (24 us).
TEST(ImproveByMoves, ResequencesADeviceWhereNoMoveIsPossible) {
  const std::string graph = R"({"format": "diviml.graph/1", "name": "order", "nodes": [
      {"id": "in", "op": "x", "cost_us": {"a": 1, "b": null}},
      {"id": "x", "op": "x", "cost_us": {"a": 10, "b": null}}, {"id": "y", "op": "x", "cost_us": {"a": null, "b": 10}},
      {"id": "z", "op": "x", "cost_us": {"a": 10, "b": null}}, {"id": "out", "op": "x", "cost_us": {"a": 1, "b": null}}],
    "edges": [{"src": "in", "dst": "x", "bytes": 1}, {"src": "x", "dst": "y", "bytes": 1},
              {"src": "y", "dst": "out", "bytes": 1}, {"src": "in", "dst": "z", "bytes": 1},
              {"src": "z", "dst": "out", "bytes": 1}]})";
  Problem pr = inline_problem(graph, kTwoDevices);
  auto id = [&](const std::string& s) {
    for (int v = 0; v < pr.num_nodes(); ++v)
      if (pr.graph().nodes[v].id == s) return v;
    return -1;
  };
  Mapping m;
  m.device.assign(pr.num_nodes(), 0);
  m.device[id("y")] = 1;
  m.order = {{id("in"), id("z"), id("x"), id("out")}, {id("y")}};
  auto start = replay(pr, m);
  ASSERT_TRUE(start);
  EXPECT_NEAR(start->makespan_us, 34, 0.01);
  MoveCounts counts;
  Mapping better = improve_by_moves(pr, m, 10, &counts);
  auto plan = replay(pr, better);
  ASSERT_TRUE(plan);
  EXPECT_NEAR(plan->makespan_us, 24, 0.01);
  EXPECT_EQ(better.device, m.device);
  EXPECT_GE(counts.resequenced, 1);
  EXPECT_TRUE(validate(pr, *plan));
}

// The iterated local search against exhaustive enumeration (the independent oracle) on tiny
// instances, from each node on its fastest device in topological order: never below the
// optimum (its plans replay and validate), and at the optimum on most of them.
TEST(ImproveByMoves, ReachesTheEnumeratedOptimumOnMostTinyInstances) {
  int checked = 0, optimal = 0, optimal_at_start = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    Problem pr = random_problem(seed, varied_spec(seed, 5, 4));
    const double opt = brute_force_optimum(pr);
    auto start = solve("fastest", pr, {});
    if (!std::isfinite(opt) || !start) continue;
    ++checked;
    Mapping better = improve_by_moves(pr, mapping_of(pr, *start), 5);
    auto p = replay(pr, better);
    ASSERT_TRUE(p) << "seed " << seed;
    EXPECT_TRUE(validate(pr, *p)) << "seed " << seed;
    EXPECT_GE(p->makespan_us, opt * (1 - 1e-9)) << "seed " << seed;
    EXPECT_LE(p->makespan_us, start->makespan_us * (1 + 1e-9)) << "seed " << seed;
    optimal += p->makespan_us <= opt * (1 + 1e-6);
    optimal_at_start += start->makespan_us <= opt * (1 + 1e-6);
  }
  std::printf("local search: %d of %d tiny instances at the enumerated optimum (%d at the start)\n", optimal, checked,
              optimal_at_start);
  EXPECT_GE(checked, 50);
  EXPECT_GE(optimal, checked * 9 / 10);
}

TEST(ImproveByMoves, KicksStopAtTheirOwnLimitAndDescentsDoNot) {
  // Split gives the kicks a share of the polish time near its bound, and the descents all of
  // it. With no time for kicks, none is kept and the plan is the descent's; with time, kicks
  // pay on some of these instances (so the limit is what stopped them).
  int paid_with_time = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    Problem pr = random_problem(seed, varied_spec(seed, 8, 5));
    auto start = solve("fastest", pr, {});
    if (!start) continue;
    MoveCounts none, some;
    Mapping descent = improve_by_moves(pr, mapping_of(pr, *start), 5, &none, 0, 0.0);
    Mapping kicked = improve_by_moves(pr, mapping_of(pr, *start), 5, &some, 0, 5);
    EXPECT_EQ(none.kicks, 0) << "seed " << seed;
    auto d = replay(pr, descent), k = replay(pr, kicked);
    ASSERT_TRUE(d && k) << "seed " << seed;
    EXPECT_LE(d->makespan_us, start->makespan_us * (1 + 1e-9)) << "seed " << seed;
    EXPECT_LE(k->makespan_us, d->makespan_us * (1 + 1e-9)) << "seed " << seed;
    paid_with_time += some.kicks > 0;
  }
  EXPECT_GE(paid_with_time, 3);
}
