// The exact branch and bound: optimality against exhaustive enumeration and against the MILP,
// the time and expansion limits, memory.
#include <gtest/gtest.h>

#include <cmath>

#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solvers/bnb.hpp"
#include "support/brute_force.hpp"
#include "support/oracle.hpp"
#include "support/random_problem.hpp"
#include "support/tricky_problem.hpp"

using namespace diviml;
using diviml::testing::random_problem;
using diviml::testing::RandomSpec;

namespace {

// Instances of 4-7 ops on 2-3 devices that exhaustive enumeration solves: varied edge densities,
// forbidden devices in a fifth of them, memory capacities in a third.
Problem tiny_instance(std::uint64_t seed) {
  RandomSpec spec;
  spec.nodes = 4 + static_cast<int>(seed % 4);
  spec.devices = 2 + static_cast<int>(seed % 2);
  spec.edge_prob = 0.2 + 0.1 * static_cast<double>(seed % 4);
  spec.forbid_prob = seed % 5 == 0 ? 0.25 : 0.0;
  spec.memory = seed % 3 == 0;
  return random_problem(seed, spec);
}

}  // namespace

TEST(Bnb, EqualsTheEnumeratedOptimumOnTinyInstances) {
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    Problem pr = tiny_instance(seed);
    double opt = diviml::testing::brute_force_optimum(pr);
    auto plan = solve("bnb", pr, {});
    if (!std::isfinite(opt)) {
      ASSERT_FALSE(plan) << "seed " << seed << ": bnb found a plan where none exists";
      continue;
    }
    ASSERT_TRUE(plan) << "seed " << seed << ": " << plan.error().message;
    ++checked;
    EXPECT_EQ(plan->status, PlanStatus::kOptimal) << "seed " << seed;
    EXPECT_NEAR(plan->makespan_us, opt, 1e-6 * opt) << "seed " << seed;
    EXPECT_TRUE(validate(pr, *plan));
  }
  EXPECT_GE(checked, 50);
}

TEST(Bnb, AgreesWithTheMilpOnModuleSizedGraphs) {
  auto pf = load_platform(kDefaultPlatform);
  ASSERT_TRUE(pf);
  int compared = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    Graph g = seed % 2 ? module_chain(1, 3, seed) : random_dag(10, 0.25, seed);
    auto pr = Problem::build(g, *pf);
    ASSERT_TRUE(pr);
    SolveOptions o;
    o.time_limit_s = 60;
    auto m = solve("milp", *pr, o);
    auto b = solve("bnb", *pr, o);
    ASSERT_TRUE(m && b);
    EXPECT_TRUE(validate(*pr, *b));
    if (m->status != PlanStatus::kOptimal || b->status != PlanStatus::kOptimal) continue;
    EXPECT_NEAR(b->makespan_us, m->makespan_us, 1e-6 * m->makespan_us) << "seed " << seed;
    ++compared;
  }
  EXPECT_GE(compared, 5);
}

TEST(Bnb, StopsAtItsLimitWithTheIncumbent) {
  Problem pr = random_problem(7, RandomSpec{40, 3, 0.08, 0.0, false, false});
  auto heft = solve("heft", pr, {});
  ASSERT_TRUE(heft);
  Mapping start = mapping_of(pr, *heft);
  BnbResult r = branch_and_bound(pr, &start, 60, 1000);
  EXPECT_FALSE(r.proven);
  EXPECT_LE(r.expansions, 1001);
  ASSERT_TRUE(std::isfinite(r.makespan_us));
  EXPECT_LE(r.makespan_us, heft->makespan_us + 1e-9);
  // The solver with a budget: the best plan so far, `feasible` (budgets, not wall clocks: the
  // time limit itself is checked end to end in tests/python/test_time_limits.py).
  SolveOptions o;
  o.bnb_expansions = 1000;
  auto plan = solve("bnb", pr, o);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->status, PlanStatus::kFeasible);
  EXPECT_LE(plan->makespan_us, heft->makespan_us + 1e-9);
  EXPECT_TRUE(validate(pr, *plan));
}

TEST(Bnb, TwinBranchesKeepTheOptimum) {
  // Three identical branches x -> (y, x -> z) between a fork and a join on three different
  // devices: the search breaks their symmetry and must still find the enumerated optimum.
  for (double link : {0.5, 5.0, 50.0}) {
    std::string nodes = R"({"id": "in", "op": "x", "cost_us": {"a": 1, "b": 2, "c": 3}})";
    std::string edges;
    for (int i = 0; i < 3; ++i) {
      std::string x = "x" + std::to_string(i), y = "y" + std::to_string(i), z = "z" + std::to_string(i);
      nodes += R"(, {"id": ")" + x + R"(", "op": "x", "cost_us": {"a": 9, "b": 6, "c": 12}})";
      nodes += R"(, {"id": ")" + y + R"(", "op": "x", "cost_us": {"a": 4, "b": 5, "c": 3}})";
      nodes += R"(, {"id": ")" + z + R"(", "op": "x", "cost_us": {"a": 7, "b": 3, "c": 8}})";
      edges += std::string(i ? ", " : "") + R"({"src": "in", "dst": ")" + x + R"(", "bytes": 1000},)" + R"({"src": ")" +
               x + R"(", "dst": ")" + y + R"(", "bytes": 1000},)" + R"({"src": ")" + x + R"(", "dst": ")" + z +
               R"(", "bytes": 1000},)" + R"({"src": ")" + y + R"(", "dst": ")" + z + R"(", "bytes": 1000},)" +
               R"({"src": ")" + z + R"(", "dst": "out", "bytes": 1000})";
    }
    nodes += R"(, {"id": "out", "op": "x", "cost_us": {"a": 1, "b": 1, "c": 1}})";
    auto g = parse_graph(
        R"({"format": "diviml.graph/1", "name": "twins", "nodes": [)" + nodes + R"(], "edges": [)" + edges + "]}",
        "twins.json");
    auto p = parse_platform(R"({"format": "diviml.platform/1", "name": "abc", "host": "a", "devices": [
        {"name": "a", "kind": "cpu", "peak_gflops": 1, "mem_bandwidth_gbps": 1},
        {"name": "b", "kind": "gpu", "peak_gflops": 1, "mem_bandwidth_gbps": 1},
        {"name": "c", "kind": "gpu", "peak_gflops": 1, "mem_bandwidth_gbps": 1}],
        "default_link": {"latency_us": )" +
                                std::to_string(link) + R"(, "bandwidth_gbps": 8}})",
                            "abc.json");
    ASSERT_TRUE(g && p) << (g ? p.error().message : g.error().message);
    auto pr = Problem::build(*g, *p);
    ASSERT_TRUE(pr);
    auto plan = solve("bnb", *pr, {});
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->status, PlanStatus::kOptimal);
    auto milp = solve("milp", *pr, {});
    ASSERT_TRUE(milp);
    ASSERT_EQ(milp->status, PlanStatus::kOptimal);
    EXPECT_NEAR(plan->makespan_us, milp->makespan_us, 1e-6 * milp->makespan_us) << "link " << link;
  }
}

TEST(Bnb, CutoffAndStoppedBoundsNeverPassTheEnumeratedOptimum) {
  // The bounds the search gives where it proves nothing whole: a complete search below a cutoff
  // (no plan under it: the optimum is at least the cutoff), and a stopped one (its root bound).
  // Checked against exhaustive enumeration, not against the search itself.
  int below = 0, above = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    Problem pr = tiny_instance(seed);
    const double opt = diviml::testing::brute_force_optimum(pr);
    if (!std::isfinite(opt) || opt <= 0) continue;
    // A cutoff under the optimum: complete, no plan, the bound is the cutoff.
    BnbResult low = branch_and_bound(pr, nullptr, 60, 1L << 40, false, 0.9 * opt);
    EXPECT_TRUE(low.complete) << "seed " << seed;
    EXPECT_FALSE(std::isfinite(low.makespan_us)) << "seed " << seed << ": a plan below the optimum";
    EXPECT_LE(low.bound_us, opt * (1 + 1e-9)) << "seed " << seed;
    EXPECT_GE(low.bound_us, 0.9 * opt * (1 - 1e-9)) << "seed " << seed;
    ++below;
    // A cutoff above it: the optimum, proven.
    BnbResult high = branch_and_bound(pr, nullptr, 60, 1L << 40, false, 1.1 * opt);
    EXPECT_TRUE(high.proven) << "seed " << seed;
    EXPECT_NEAR(high.makespan_us, opt, 1e-6 * opt) << "seed " << seed;
    ++above;
    // Stopped after one partial schedule: whatever it has, its bound stays under the optimum.
    BnbResult stopped = branch_and_bound(pr, nullptr, 60, 1);
    EXPECT_LE(stopped.bound_us, opt * (1 + 1e-9)) << "seed " << seed;
  }
  EXPECT_GE(below, 40);
  EXPECT_GE(above, 40);
}

TEST(Bnb, NarrowWindowsKeepTheEnumeratedOptimum) {
  // The window test refutes a partial schedule when no device its unplaced nodes can still
  // end on in time leaves room for them; it is sharpest when the target hugs the optimum. A
  // search started from the optimum itself, or below a cutoff a hair above it, must still
  // prove it (and find it), and a cutoff a hair below it must leave nothing: checked against
  // exhaustive enumeration on the awkward instances of the oracle (zero costs, forbidden
  // devices, host I/O, weights over memory) and on the tiny random ones. The search keeps the
  // weights within memory, not live tensors: its reference is the enumeration's optimum under
  // the same rule.
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 400; ++seed) {
    std::optional<Problem> made = seed % 2 ? diviml::testing::tricky_problem(seed) : tiny_instance(seed);
    if (!made) continue;
    const Problem& pr = *made;
    const double opt = diviml::testing::Oracle(pr).relaxed_optimum();
    if (!std::isfinite(opt) || opt <= 0) continue;
    ++checked;
    SCOPED_TRACE("seed " + std::to_string(seed) + " optimum " + std::to_string(opt));
    BnbResult hair = branch_and_bound(pr, nullptr, 60, 1L << 40, seed % 3 == 0, opt * (1 + 1e-7));
    EXPECT_TRUE(hair.proven);
    EXPECT_NEAR(hair.makespan_us, opt, 1e-6 * opt);
    BnbResult below = branch_and_bound(pr, nullptr, 60, 1L << 40, seed % 3 == 0, opt * (1 - 1e-7));
    EXPECT_TRUE(below.complete);
    EXPECT_FALSE(std::isfinite(below.makespan_us));
    // From the optimal plan itself: the proof must not cut the branch that holds it.
    if (hair.proven) {
      BnbResult again = branch_and_bound(pr, &hair.mapping, 60, 1L << 40);
      EXPECT_TRUE(again.proven);
      EXPECT_NEAR(again.makespan_us, opt, 1e-6 * opt);
    }
  }
  EXPECT_GE(checked, 300);
}

TEST(Bnb, SplitsProofsOnBranchyChainsMatchTheWholeGraphSearch) {
  // Inception-like modules (3 parallel branches of 1-3 ops) in a chain: split solves each
  // module per boundary pair with the search, a cutoff from its table, and a bisection where
  // it stops. Where split says optimal, the whole graph's search (an independent reference:
  // one search over every schedule, no modules) must agree; split's bound never passes it.
  auto pf = load_platform(kDefaultPlatform);
  ASSERT_TRUE(pf);
  int proven = 0;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    Graph g = module_chain(2, 3, seed);
    auto pr = Problem::build(g, *pf);
    ASSERT_TRUE(pr);
    SolveOptions o;
    o.time_limit_s = 60;
    auto whole = solve("bnb", *pr, o);
    ASSERT_TRUE(whole);
    if (whole->status != PlanStatus::kOptimal) continue;
    for (long budget : {1000L, 1000000L}) {
      o.module_bnb_expansions = budget;
      auto s = solve("split", *pr, o);
      ASSERT_TRUE(s);
      EXPECT_TRUE(validate(*pr, *s));
      EXPECT_LE(s->lower_bound_us, whole->makespan_us * (1 + 1e-9)) << "seed " << seed << " budget " << budget;
      EXPECT_GE(s->makespan_us, whole->makespan_us * (1 - 1e-9)) << "seed " << seed;
      if (s->status == PlanStatus::kOptimal) {
        EXPECT_NEAR(s->makespan_us, whole->makespan_us, 1e-6 * whole->makespan_us) << "seed " << seed;
        ++proven;
      }
    }
  }
  EXPECT_GE(proven, 4);
}
