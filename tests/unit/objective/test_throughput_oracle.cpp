// The period's lower bound against the best period over every decision with at most two lanes
// on tiny instances: every device per (lane, node), and every cyclic order per device that
// keeps each lane's tasks in topological order (all interleavings of the lanes).
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <random>

#include "diviml/cost/symmetry.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/memory.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/solve/solve.hpp"
#include "support/nic_loads.hpp"
#include "support/random_problem.hpp"
#include "support/steady_memory.hpp"

using namespace diviml;
using namespace diviml::testing;

namespace {

bool fits_by_sweep(const Problem& pr, const Plan& plan) {
  const std::vector<double> peak = brute_force_peaks(pr, plan);
  for (int d = 0; d < pr.num_devices(); ++d)
    if (peak[d] > pr.capacity_bytes(d) * (1 + 1e-9) + 1e-9) return false;
  return true;
}

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

// The least period over all decisions with exactly `lanes` lanes (+inf when none replays);
// with `fits`, only decisions whose steady state fits every device's memory by the independent
// sweep (support/steady_memory.hpp).
double best_period(const Problem& pr, int lanes, bool fits = false) {
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
          if (plan && (!fits || fits_by_sweep(pr, *plan))) best = std::min(best, plan->period_us);
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
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(t % n, d)) continue;
      // Colocation: a group's members on one device in every lane (its weights exist once).
      bool kept = true;
      for (int s = 0; s < t && kept; ++s)
        kept = pr.group_of(s % n) < 0 || pr.group_of(s % n) != pr.group_of(t % n) || device[s] == d;
      if (!kept) continue;
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
    // Its relaxation without copies (the bound where the copies' LP is too large to build).
    const double loads = period_lp(pr, 10, false).bound_us;
    EXPECT_LE(loads, best * (1 + 1e-6) + 1e-9) << "seed " << seed;
    EXPECT_LE(loads, copies * (1 + 1e-6) + 1e-9) << "seed " << seed;
    const double without = std::max(ascent_work_bound_us(pr), lp_work_bound_us(pr, 10));
    if (copies > without * (1 + 1e-6)) ++tighter;
  }
  EXPECT_GE(tighter, 2);  // seeds 1-12 (deterministic): 2 where the links limit
}

// Memory in the steady state is a constraint (issue 36): devices hold their weights and between
// 0.4 and 1.6 times one input's tensors, so the tensors of the inputs in flight bind on some
// instances. The oracle enumerates every decision of up to two lanes at full speed and sweeps
// memory by its own code. Every throughput solver's plan fits by that sweep and passes the
// validator; whenever the oracle finds a decision that fits, every solver has a plan (but for
// the baselines whose own definition has none: no single device holds the model for `fastest`
// and `replicas`); the bound stays at or below the best period of the weights-only relaxation.
TEST(ThroughputOracle, EverySolverKeepsTheSteadyStateWithinMemory) {
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  SolveOptions options;
  options.time_limit_s = 5;
  int binds = 0, fitting = 0, none = 0, plans = 0, twins = 0;
  for (std::uint64_t seed = 1; seed <= 24; ++seed) {
    // Each device gets room for 60-110% of all weights and 10-70% of one input's tensors; a third
    // of the instances carry a colocation group (nodes 0 and 2: a training step's op and its
    // update), and on three devices some pairs have no link.
    RandomSpec spec{3, seed % 4 == 0 ? 3 : 2, 0.5, 0.0, true, true};
    spec.groups = seed % 3 == 0;
    // Identical devices on every other three-device instance (balance deals the LP's shares by
    // their class there); the others have links missing.
    spec.twins = spec.devices == 3 && seed % 8 == 0;
    spec.sparse_links = spec.devices == 3 && !spec.twins;
    // Three servers on some three-device instances: copies between them share each end's NIC.
    spec.servers = spec.devices == 3 && seed % 8 == 4 ? 3 : 1;
    const Problem drawn = random_problem(seed, spec);
    double weights = 0, tensors = 0;
    for (const Node& v : drawn.graph().nodes)
      weights += v.param_bytes, tensors += v.output_bytes.value_or(0) + v.input_bytes;
    for (const Edge& e : drawn.graph().edges) tensors += e.bytes;
    std::mt19937_64 rng(seed);
    std::vector<double> capacity(drawn.num_devices());
    for (double& c : capacity)
      c = weights * (0.6 + 0.5 * static_cast<double>(rng() % 100) / 100) +
          tensors * (0.1 + 0.6 * static_cast<double>(rng() % 100) / 100);
    // Twins keep one capacity (identical devices are so only with equal memory).
    if (spec.twins) capacity[2] = capacity[1];
    const Problem pr = drawn.with_memory(capacity, {});
    twins += !identical_groups(pr).empty();
    const double relaxed = std::min(best_period(pr, 1), best_period(pr, 2));
    const double best = std::min(best_period(pr, 1, true), best_period(pr, 2, true));
    if (!std::isfinite(relaxed)) continue;
    binds += best > relaxed * (1 + 1e-9);
    fitting += std::isfinite(best);
    none += !std::isfinite(best);
    for (const std::string& name : solver_names()) {
      if (!make_solver(name)->supports(throughput_objective())) continue;
      SCOPED_TRACE("seed " + std::to_string(seed) + " solver " + name + " best fitting period " + std::to_string(best));
      auto plan = solve(name, pr, options, hooks);
      if (!plan) {
        EXPECT_NE(plan.error().kind, ErrorKind::kInternal) << plan.error().message;
        const bool by_definition = (name == "fastest" || name == "replicas" || name == "uniform") &&
                                   plan.error().message.find("no plan found within memory") == std::string::npos;
        if (std::isfinite(best)) {
          EXPECT_TRUE(by_definition) << "no plan where one fits: " << plan.error().message;
        }
        continue;
      }
      ++plans;
      EXPECT_TRUE(fits_by_sweep(pr, *plan)) << "the steady state overflows a device";
      EXPECT_GE(plan->period_us, nic_period_floor_us(pr, *plan) * (1 - 1e-9));
      Status valid = throughput_objective().validate(pr, *plan);
      EXPECT_TRUE(valid) << (valid ? "" : valid.error().message);
      EXPECT_LE(plan->lower_bound_us, relaxed * (1 + 1e-6) + 1e-9);
    }
  }
  EXPECT_GT(binds, 0);  // the tensors in flight must bind somewhere to test anything
  EXPECT_GT(plans, 0);
  EXPECT_GE(twins, 3);  // seeds 8, 16 and 24
  std::printf("memory binds on %d instances, a fitting decision exists on %d, none on %d\n", binds, fitting, none);
}

// Copies between servers share each end's NIC (docs/cost-model.md): on three devices in two or
// three servers, the period bound stays at or below the best period of every decision of up to
// two lanes (one on even seeds), every throughput solver's plan validates and runs no faster than its busiest way
// out of or into a server allows by the plan's own copies (support/nic_loads.hpp), and `milp`
// and `auto` reach the best one-lane period. The sharing must bind somewhere: the best period
// with dedicated links between servers is lower on some instances.
TEST(ThroughputOracle, CopiesBetweenServersShareTheirNics) {
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  SolveOptions options;
  options.time_limit_s = 2;
  int binds = 0;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    RandomSpec spec{3, 3, 0.9, 0.0, true, false};
    spec.servers = seed % 2 == 0 ? 2 : 3;
    const Problem pr = random_problem(seed, spec);
    Platform dedicated_platform = pr.platform();
    dedicated_platform.shared_server_links = false;
    const Problem dedicated = *Problem::build(pr.graph(), dedicated_platform);
    // Two lanes on every other seed (their enumeration takes seconds); the best of one lane is
    // still above the optimum, so bounds and proofs are checked against it on the others.
    const double one = best_period(pr, 1), best = seed % 2 == 1 ? std::min(one, best_period(pr, 2)) : one;
    ASSERT_TRUE(std::isfinite(best)) << "seed " << seed;
    const bool bound_by_nics = one > best_period(dedicated, 1) * (1 + 1e-9);
    binds += bound_by_nics;
    EXPECT_LE(period_lower_bound_us(pr, 10), best * (1 + 1e-6) + 1e-9) << "seed " << seed;
    for (const std::string& name : solver_names()) {
      if (!make_solver(name)->supports(throughput_objective())) continue;
      SCOPED_TRACE("seed " + std::to_string(seed) + " solver " + name + (bound_by_nics ? " (NICs bind)" : ""));
      auto plan = solve(name, pr, options, hooks);
      if (!plan) {
        EXPECT_EQ(plan.error().kind, ErrorKind::kInfeasible) << plan.error().message;
        continue;
      }
      Status valid = throughput_objective().validate(pr, *plan);
      EXPECT_TRUE(valid) << (valid ? "" : valid.error().message);
      EXPECT_GE(plan->period_us, nic_period_floor_us(pr, *plan) * (1 - 1e-9));
      EXPECT_LE(plan->lower_bound_us, best * (1 + 1e-6) + 1e-9);
      if (plan->status == PlanStatus::kOptimal) {
        EXPECT_LE(plan->period_us, best * (1 + 1e-6) + 1e-9);
      }
      if (name == "milp" || name == "auto") {
        EXPECT_LE(plan->period_us, one * (1 + 1e-6) + 1e-9);
      }
    }
  }
  EXPECT_GE(binds, 2);
  std::printf("the NICs bind on %d of 8 instances\n", binds);
}

// The validator's memory profile (objective/memory.cpp) against the brute-force sweep of the
// definition (support/steady_memory.hpp) on random decisions of random problems with copies,
// host transfers, colocation groups and up to three lanes: the same peak on every device.
TEST(ThroughputOracle, MemoryProfileMatchesABruteForceSweepOfTheDefinition) {
  int compared = 0, delayed = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    RandomSpec spec{5, 3, 0.5, 0.0, true, true};
    spec.groups = seed % 2 == 0;
    Problem pr = random_problem(seed, spec);
    std::mt19937_64 rng(seed);
    const int n = pr.num_nodes(), k = pr.num_devices();
    for (int lanes = 1; lanes <= 3; ++lanes) {
      std::vector<int> device(static_cast<size_t>(lanes) * n);
      for (int& d : device) d = static_cast<int>(rng() % k);
      // Colocation: every member of a group where its first member runs, in each lane.
      for (int l = 0; l < lanes; ++l)
        for (int v = 0; v < n; ++v)
          for (int u = 0; u < v; ++u)
            if (pr.group_of(v) >= 0 && pr.group_of(u) == pr.group_of(v)) device[l * n + v] = device[l * n + u];
      Mapping m{device, std::vector<std::vector<int>>(k)};
      for (int l = 0; l < lanes; ++l)
        for (int v : pr.graph().topo_order()) m.order[device[l * n + v]].push_back(l * n + v);
      // Delays (modulo scheduling: a task works on an input some rounds older) on every other
      // seed, never decreasing along an edge: the held intervals then span rounds.
      std::vector<int> delay(device.size(), 0);
      if (seed % 2 == 1)
        for (int l = 0; l < lanes; ++l)
          for (int v : pr.graph().topo_order()) {
            int& q = delay[static_cast<size_t>(l) * n + v];
            for (int e : pr.graph().in_edges(v))
              q = std::max(q, delay[static_cast<size_t>(l) * n + pr.graph().edges[e].src]);
            q += rng() % 3 == 0;
          }
      for (const Objective* obj : {&latency_objective(), &throughput_objective()}) {
        if (obj == &latency_objective() && lanes > 1) continue;
        m.delay = obj == &throughput_objective() ? delay : std::vector<int>{};
        auto plan = obj->evaluate(pr, m);
        if (!plan) continue;
        const MemoryProfile mine = memory_profile(pr, *plan);
        const std::vector<double> truth = brute_force_peaks(pr, *plan);
        for (int d = 0; d < k; ++d)
          EXPECT_NEAR(mine.peak_bytes[d], truth[d], 1e-6 * std::max(1.0, truth[d]))
              << "seed " << seed << " lanes " << lanes << " " << obj->name() << " device " << d;
        ++compared;
        delayed += std::any_of(plan->placements.begin(), plan->placements.end(),
                               [](const Placement& p) { return p.delay > 0; });
      }
    }
  }
  EXPECT_GT(compared, 150);
  EXPECT_GT(delayed, 30);
}
