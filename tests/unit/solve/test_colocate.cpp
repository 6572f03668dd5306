// Colocation groups (graph `colocate`): every solver's plan keeps each group on one device, the
// validator rejects plans that do not, groups that cannot be placed are refused with their name,
// and the MILP's proven optimum with groups equals the independent oracle's (which enumerates
// only assignments that keep equal `colocate` strings together).
#include <gtest/gtest.h>

#include "../../support/brute_force.hpp"
#include "../../support/random_problem.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/solve/colocate.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solve/solver.hpp"

namespace diviml {
namespace {

// A random problem whose nodes i and n-1-i share a group for even i (a training step's forward
// op and the backward op at the mirrored position), plus a group of three when n >= 7.
Problem grouped(std::uint64_t seed, testing::RandomSpec spec = {}) {
  Problem base = testing::random_problem(seed, spec);
  Graph g = base.graph();
  const int n = g.num_nodes();
  for (int i = 0; 2 * i < n - 1; i += 2) g.nodes[i].colocate = g.nodes[n - 1 - i].colocate = "p" + std::to_string(i);
  if (n >= 7) g.nodes[1].colocate = g.nodes[3].colocate = g.nodes[5].colocate = "triple";
  Result<Problem> pr = Problem::build(g, base.platform());
  EXPECT_TRUE(pr) << pr.error().message;
  return std::move(*pr);
}

TEST(Colocate, EverySolverKeepsEveryGroupOnOneDevice) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const Problem pr = grouped(seed, {.nodes = 8, .devices = 3, .edge_prob = 0.35});
    ASSERT_GT(pr.num_groups(), 0);
    for (const Objective* obj : {&latency_objective(), &throughput_objective()})
      for (const std::string& name : solver_names()) {
        if (!make_solver(name)->supports(*obj)) continue;
        SolveOptions opt;
        opt.time_limit_s = 2;
        SolveHooks hooks;
        hooks.objective = obj;
        Result<Plan> plan = solve(name, pr, opt, hooks);
        ASSERT_TRUE(plan) << name << " " << obj->name() << " seed " << seed << ": " << plan.error().message;
        EXPECT_TRUE(check_colocation(pr, *plan)) << name << " " << obj->name() << " seed " << seed;
        EXPECT_TRUE(obj->validate(pr, *plan)) << name;
      }
  }
}

TEST(Colocate, MilpOptimumWithGroupsEqualsTheOracle) {
  int proven = 0;
  for (std::uint64_t seed = 11; seed <= 18; ++seed) {
    const Problem pr = grouped(seed, {.nodes = 6, .devices = 2, .edge_prob = 0.4});
    const double truth = testing::brute_force_optimum(pr);
    for (const char* name : {"milp", "heft", "split", "auto", "metis", "comm-greedy"}) {
      SolveOptions opt;
      opt.time_limit_s = 20;
      Result<Plan> plan = solve(name, pr, opt);
      ASSERT_TRUE(plan) << name << ": " << plan.error().message;
      // A bound never above the optimum with groups, a plan never below it.
      EXPECT_LE(plan->lower_bound_us, truth * (1 + 1e-9) + 1e-9) << name << " seed " << seed;
      EXPECT_GE(plan->makespan_us, truth * (1 - 1e-9) - 1e-9) << name << " seed " << seed;
      if (std::string(name) == "milp" && plan->status == PlanStatus::kOptimal) {
        EXPECT_NEAR(plan->makespan_us, truth, 1e-6 * truth) << "seed " << seed;
        ++proven;
      }
    }
  }
  EXPECT_GE(proven, 6);  // the MILP proves these tiny instances
}

TEST(Colocate, ValidatorRejectsASplitGroupNamingIt) {
  const Problem free = testing::random_problem(5, {.nodes = 6, .devices = 2});
  SolveOptions opt;
  opt.time_limit_s = 2;
  Result<Plan> plan = solve("heft", free, opt);
  ASSERT_TRUE(plan);
  // Two nodes HEFT put on different devices, made one group.
  int a = -1, b = -1;
  for (const Placement& p : plan->placements)
    for (const Placement& q : plan->placements)
      if (p.device != q.device && a < 0) a = p.node, b = q.node;
  ASSERT_GE(a, 0);
  Graph g = free.graph();
  g.nodes[a].colocate = g.nodes[b].colocate = "w";
  Result<Problem> pr = Problem::build(g, free.platform());
  ASSERT_TRUE(pr);
  Status s = validate(*pr, *plan);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("colocate group 'w'"), std::string::npos) << s.error().message;
  // The repair moves the group whole, and the result replays and validates.
  Mapping m;
  m.device.assign(pr->num_nodes(), 0);
  m.order.assign(pr->num_devices(), {});
  for (const Placement& p : plan->placements) m.device[p.node] = p.device;
  std::vector<Placement> by_start = plan->placements;
  std::sort(by_start.begin(), by_start.end(),
            [](const Placement& x, const Placement& y) { return x.start_us < y.start_us; });
  for (const Placement& p : by_start) m.order[p.device].push_back(p.node);
  EXPECT_TRUE(colocate(*pr, latency_objective(), m));
  EXPECT_EQ(m.device[a], m.device[b]);
  Result<Plan> again = latency_objective().evaluate(*pr, m);
  ASSERT_TRUE(again);
  again->lower_bound_us = 0;
  EXPECT_TRUE(validate(*pr, *again));
}

TEST(Colocate, AGroupNoDeviceRunsWholeIsRefusedByName) {
  Problem base = testing::random_problem(3, {.nodes = 4, .devices = 2});
  Graph g = base.graph();
  g.nodes[0].cost_us["d1"] = std::nullopt;  // v0 only on d0
  g.nodes[2].cost_us["d0"] = std::nullopt;  // v2 only on d1
  g.nodes[0].colocate = g.nodes[2].colocate = "layer1.weight";
  Result<Problem> pr = Problem::build(g, base.platform());
  ASSERT_FALSE(pr);
  EXPECT_NE(pr.error().message.find("colocate group 'layer1.weight'"), std::string::npos) << pr.error().message;
  EXPECT_NE(pr.error().message.find("'v0' cannot run on 'd1'"), std::string::npos) << pr.error().message;
}

TEST(Colocate, AGroupWhoseWeightsFitNoDeviceIsInfeasibleByName) {
  Problem base = testing::random_problem(4, {.nodes = 5, .devices = 2, .memory = true});
  Graph g = base.graph();
  double most = 0;
  for (int d = 0; d < base.num_devices(); ++d) most = std::max(most, base.capacity_bytes(d));
  // Each member fits alone; together they do not.
  g.nodes[1].param_bytes = g.nodes[3].param_bytes = 0.6 * most;
  for (int v : {0, 2, 4}) g.nodes[v].param_bytes = 0;
  g.nodes[1].colocate = g.nodes[3].colocate = "big";
  Result<Problem> pr = Problem::build(g, base.platform());
  ASSERT_TRUE(pr);
  SolveOptions opt;
  opt.time_limit_s = 2;
  Result<Plan> plan = solve("heft", *pr, opt);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().kind, ErrorKind::kInfeasible);
  EXPECT_NE(plan.error().message.find("colocate group 'big'"), std::string::npos) << plan.error().message;
}

}  // namespace
}  // namespace diviml
