// The period's lower bound against the best period over every decision with at most two lanes
// on tiny instances: every device per (lane, node), and every cyclic order per device that
// keeps each lane's tasks in topological order (all interleavings of the lanes).
#include <gtest/gtest.h>

#include <functional>

#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/solve/solve.hpp"
#include "support/random_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

namespace {

// Calls visit(order) for every interleaving of the per-lane sequences `runs`.
void interleavings(const std::vector<std::vector<int>>& runs,
                   const std::function<void(const std::vector<int>&)>& visit) {
  std::vector<size_t> at(runs.size(), 0);
  std::vector<int> order;
  size_t total = 0;
  for (const auto& r : runs) total += r.size();
  std::function<void()> step = [&] {
    if (order.size() == total) return visit(order);
    for (size_t i = 0; i < runs.size(); ++i) {
      if (at[i] == runs[i].size()) continue;
      order.push_back(runs[i][at[i]++]);
      step();
      --at[i];
      order.pop_back();
    }
  };
  step();
}

// The least period over all decisions with exactly `lanes` lanes (+inf when none replays).
double best_period(const Problem& pr, int lanes) {
  const int n = pr.num_nodes(), k = pr.num_devices(), tasks = lanes * n;
  const auto& topo = pr.graph().topo_order();
  double best = kInf;
  std::vector<int> device(tasks, 0);
  std::function<void(int)> assign = [&](int t) {
    if (t == tasks) {
      // Per device and lane, the lane's tasks there in topological order.
      std::vector<std::vector<std::vector<int>>> runs(k, std::vector<std::vector<int>>(lanes));
      for (int l = 0; l < lanes; ++l)
        for (int v : topo) runs[device[l * n + v]][l].push_back(l * n + v);
      Mapping m{device, std::vector<std::vector<int>>(k)};
      std::function<void(int)> per_device = [&](int d) {
        if (d == k) {
          auto plan = pipeline_replay(pr, m);
          if (plan) best = std::min(best, plan->period_us);
          return;
        }
        interleavings(runs[d], [&](const std::vector<int>& order) {
          m.order[d] = order;
          per_device(d + 1);
        });
      };
      per_device(0);
      return;
    }
    for (int d = 0; d < k; ++d)
      if (pr.can_run(t % n, d)) {
        device[t] = d;
        assign(t + 1);
      }
  };
  assign(0);
  return best;
}

}  // namespace

TEST(ThroughputOracle, BoundNeverAboveTheBestPeriodOfUpToTwoLanes) {
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    Problem pr = random_problem(seed, RandomSpec{3, 2, 0.5, 0.0, true, false});
    const double best = std::min(best_period(pr, 1), best_period(pr, 2));
    ASSERT_TRUE(std::isfinite(best)) << "seed " << seed;
    const double bound = period_lower_bound_us(pr, 10);
    EXPECT_LE(bound, best * (1 + 1e-6) + 1e-9) << "seed " << seed;
    // And no solver reports a period below what a bound allows, nor a one-lane plan below
    // the one-lane optimum.
    auto plan = solve("auto", pr, {}, hooks);
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_GE(plan->period_us, bound * (1 - 1e-6));
    if (plan->lanes == 1) {
      EXPECT_GE(plan->period_us, best_period(pr, 1) * (1 - 1e-6)) << "seed " << seed;
    }
  }
}

// The copies' LP bound on its own: never above the best period, and above the bounds without
// copies where the links are what limits the period (it must be doing work to be tested).
TEST(ThroughputOracle, CopyBoundNeverAboveTheBestPeriodAndTighterWhereLinksLimit) {
  int tighter = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    Problem pr = random_problem(seed, RandomSpec{3, 2, 0.7, 0.0, true, false});
    const double best = std::min(best_period(pr, 1), best_period(pr, 2));
    ASSERT_TRUE(std::isfinite(best)) << "seed " << seed;
    const double copies = copy_lp_bound_us(pr, 10);
    EXPECT_LE(copies, best * (1 + 1e-6) + 1e-9) << "seed " << seed;
    const double without = std::max(ascent_work_bound_us(pr), lp_work_bound_us(pr, 10));
    if (copies > without * (1 + 1e-6)) ++tighter;
  }
  EXPECT_GE(tighter, 2);  // seeds 1-12 (deterministic): 2 where the links limit
}
