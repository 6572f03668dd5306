// Runtime rebalancing on the replay: the perturbed problem scales costs as asked, the assistant
// never keeps a decision worse than the plan as it ran, keeps colocation groups whole, and
// recovers most of a slowed device's loss on a problem where the remedy is known.
#include <gtest/gtest.h>

#include "../../support/random_problem.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/simulate/rebalance.hpp"
#include "diviml/solve/solve.hpp"

namespace diviml {
namespace {

TEST(Rebalance, PerturbedScalesEveryCostOfTheSlowedDevice) {
  const Problem pr = testing::random_problem(7, {.nodes = 10, .devices = 3});
  Perturbation p;
  p.slowdown = {1.0, 1.5, 1.0};
  Result<Problem> truth = perturbed(pr, p);
  ASSERT_TRUE(truth);
  for (int v = 0; v < pr.num_nodes(); ++v) {
    EXPECT_DOUBLE_EQ(truth->cost_us(v, 0), pr.cost_us(v, 0));
    EXPECT_DOUBLE_EQ(truth->cost_us(v, 1), 1.5 * pr.cost_us(v, 1));
  }
  p.slowdown = {1.0};
  EXPECT_FALSE(perturbed(pr, p));
  p.slowdown = {};
  p.noise = 0.3;
  Result<Problem> noisy = perturbed(pr, p);
  ASSERT_TRUE(noisy);
  double ratio = 0;
  for (int v = 0; v < pr.num_nodes(); ++v) ratio += noisy->cost_us(v, 2) / pr.cost_us(v, 2);
  EXPECT_NEAR(ratio / pr.num_nodes(), 1.0, 0.35);  // mean-one factors
}

TEST(Rebalance, NeverWorseThanAsPlannedAndKeepsGroups) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    Problem base = testing::random_problem(seed, {.nodes = 14, .devices = 3, .edge_prob = 0.25});
    Graph g = base.graph();
    for (int i = 0; i + 1 < g.num_nodes() / 2; i += 3)
      g.nodes[i].colocate = g.nodes[g.num_nodes() - 1 - i].colocate = "w" + std::to_string(i);
    Result<Problem> pr = Problem::build(g, base.platform());
    ASSERT_TRUE(pr);
    for (const Objective* obj : {&latency_objective(), &throughput_objective()}) {
      SolveOptions opt;
      opt.time_limit_s = 2;
      SolveHooks hooks;
      hooks.objective = obj;
      Result<Plan> plan = solve("comm-greedy", *pr, opt, hooks);
      ASSERT_TRUE(plan) << plan.error().message;
      Perturbation p;
      p.slowdown = {1.0, 1.0 + 0.1 * static_cast<double>(seed), 1.0};
      p.noise = 0.2;
      p.seed = seed;
      Result<Problem> truth = perturbed(*pr, p);
      ASSERT_TRUE(truth);
      SolveContext ctx = SolveContext::start(opt);
      ctx.objective = obj;
      const Mapping start = obj == &latency_objective() ? mapping_of(*pr, *plan) : *pipeline_mapping_of(*pr, *plan);
      Result<RebalanceResult> r = rebalance(*pr, *truth, start, ctx, 30);
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_NEAR(r->predicted, obj->value(*plan), 1e-6 * r->predicted);
      EXPECT_LE(r->rebalanced, r->unbalanced * (1 + 1e-9));
      Result<Plan> kept = obj->evaluate(*truth, r->mapping);
      ASSERT_TRUE(kept);
      EXPECT_NEAR(obj->value(*kept), r->rebalanced, 1e-6 * r->rebalanced);
      EXPECT_TRUE(check_colocation(*truth, *kept));
    }
  }
}

// Two identical devices, a fork of eight equal independent ops split four and four, no
// transfers to speak of: device 1 slowed 3x makes its four ops the bottleneck; moving two of
// them to device 0 is the remedy (6 ops x 10 vs 2 x 30).
TEST(Rebalance, MovesWorkOffASlowedDevice) {
  Platform pf;
  pf.name = "two";
  for (const char* name : {"a", "b"}) {
    Device d;
    d.name = name;
    d.kind = "gpu";
    pf.devices.push_back(d);
  }
  pf.host = 0;
  ASSERT_TRUE(pf.finalize());
  pf.set_link(0, 1, Link{0.001, 1000});
  Graph g;
  g.name = "fork";
  Node src;
  src.id = "src";
  src.op = "x";
  src.cost_us = {{"a", 1.0}, {"b", 1.0}};
  g.add_node(src);
  for (int i = 0; i < 8; ++i) {
    Node v;
    v.id = "op" + std::to_string(i);
    v.op = "conv";
    v.cost_us = {{"a", 10.0}, {"b", 10.0}};
    g.add_node(v);
    ASSERT_TRUE(g.add_edge("src", v.id, 1.0));
  }
  ASSERT_TRUE(g.finalize());
  Result<Problem> pr = Problem::build(g, pf);
  ASSERT_TRUE(pr);
  std::vector<int> device(9, 0);
  for (int i = 5; i < 9; ++i) device[i] = 1;
  std::vector<int> order(9);
  for (int i = 0; i < 9; ++i) order[i] = i;
  const Mapping start = mapping_from_priority(*pr, device, order);
  Perturbation p;
  p.slowdown = {1.0, 3.0};
  Result<Problem> truth = perturbed(*pr, p);
  ASSERT_TRUE(truth);
  SolveOptions opt;
  SolveContext ctx = SolveContext::start(opt);
  Result<RebalanceResult> r = rebalance(*pr, *truth, start, ctx, 20);
  ASSERT_TRUE(r);
  EXPECT_NEAR(r->predicted, 41.0, 0.01);
  EXPECT_NEAR(r->unbalanced, 121.0, 0.1);
  EXPECT_LE(r->rebalanced, 61.1);  // two ops moved: 1 + 6 x 10 on a, 2 x 30 on b
  EXPECT_GE(r->moves, 2);
}

}  // namespace
}  // namespace diviml
