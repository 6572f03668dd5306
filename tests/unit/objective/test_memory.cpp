// Memory over time (objective/memory.hpp): a hand-computed plan, and the sweep against a brute
// force that evaluates the definition at every instant where something starts or ends.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "diviml/objective/memory.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/solve/solve.hpp"
#include "support/fixtures.hpp"
#include "support/inline_problem.hpp"
#include "support/oracle.hpp"
#include "support/random_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

TEST(Memory, HandComputedPlanOnTwoDevices) {
  // x (a, 5 us, 100 B weights, 10 B workspace) -> y (b, 1 us, state 7 B) over 3 bytes, and
  // x -> z (a, 2 us) over 40 bytes (output_bytes 50 on x). Link: 2 us + 1 byte/us.
  Problem pr = inline_problem(R"({"nodes": [
      {"id": "x", "cost_us": {"a": 5, "b": 5}, "param_bytes": 100, "workspace_bytes": 10, "output_bytes": 50},
      {"id": "y", "cost_us": {"a": 1, "b": 1}, "state_bytes": 7, "output_bytes": 4},
      {"id": "z", "cost_us": {"a": 2, "b": 2}, "output_bytes": 6}],
      "edges": [{"src": "x", "dst": "y", "bytes": 3}, {"src": "x", "dst": "z", "bytes": 40}]})",
                              kTwo);
  auto plan = replay(pr, Mapping{{0, 1, 0}, {{0, 2}, {1}}});
  ASSERT_TRUE(plan) << plan.error().message;
  // a: weights 100; x runs [0, 5) with 10 B workspace and its 50 B output until z ends (7)
  // and its copy to b ends (5 + 5 = 10); z's 6 B output from 5 on (a sink on the host).
  // Peak on a: 100 + 10 + 50 = 160 during x; after: 100 + 50 + 6 = 156.
  // b: state 7; the received 3 B from 10 until y ends (11); y's 4 B output [10, 11) and its
  // return to the host (2 + 4 = 6 us): until 17. Peak 7 + 3 + 4 = 14.
  MemoryProfile m = memory_profile(pr, *plan);
  EXPECT_DOUBLE_EQ(m.resident_bytes[0], 100.0);
  EXPECT_DOUBLE_EQ(m.resident_bytes[1], 7.0);
  EXPECT_DOUBLE_EQ(m.peak_bytes[0], 160.0);
  EXPECT_DOUBLE_EQ(m.peak_at_us[0], 0.0);
  EXPECT_DOUBLE_EQ(m.peak_bytes[1], 14.0);
  EXPECT_DOUBLE_EQ(m.peak_at_us[1], 10.0);
  // After everything only the resident bytes and outputs kept for the host remain.
  EXPECT_DOUBLE_EQ(m.steps[1].back().second, 7.0);
}

namespace {

// The definition, evaluated at instant t on device d.
double held_at(const Problem& pr, const Plan& plan, int d, double t) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes();
  std::vector<const Placement*> at(n);
  for (const Placement& p : plan.placements) at[p.node] = &p;
  auto live = [&](double from, double to) { return from <= t && t < to; };
  double sum = 0;
  for (int v = 0; v < n; ++v) {
    const Placement& p = *at[v];
    if (p.device != d) continue;
    sum += pr.resident_bytes(v);
    if (live(p.start_us, p.end_us)) sum += g.nodes[v].workspace_bytes;
    if (g.nodes[v].input_bytes > 0 && live(std::min(p.start_us, pr.input_us(v, d)), p.end_us))
      sum += g.nodes[v].input_bytes;
    double until = p.end_us, size = g.nodes[v].output_bytes.value_or(0.0);
    if (g.out_edges(v).empty()) until = std::max(until, p.end_us + pr.output_us(v, d));
    for (int e : g.out_edges(v)) {
      if (!g.nodes[v].output_bytes) size = std::max(size, g.edges[e].bytes);
      if (at[g.edges[e].dst]->device == d) until = std::max(until, at[g.edges[e].dst]->end_us);
    }
    for (const Transfer& tr : plan.transfers)
      if (g.edges[tr.edge].src == v) until = std::max(until, tr.end_us);
    if (live(p.start_us, until)) sum += size;
  }
  // Received: per producer, the copies to d.
  for (int u = 0; u < n; ++u) {
    double arrive = -1, size = 0;
    for (const Transfer& tr : plan.transfers)
      if (g.edges[tr.edge].src == u && tr.to == d)
        arrive = std::max(arrive, tr.end_us), size = std::max(size, g.edges[tr.edge].bytes);
    if (arrive < 0) continue;
    double until = arrive;
    for (int e : g.out_edges(u))
      if (at[g.edges[e].dst]->device == d) until = std::max(until, at[g.edges[e].dst]->end_us);
    if (live(arrive, until)) sum += size;
  }
  return sum;
}

}  // namespace

TEST(Memory, SweepMatchesTheDefinitionAtEveryInstant) {
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    // Random graphs and platforms with host I/O, plus workspace and state on some nodes and
    // output_bytes left out on others (their largest edge counts then).
    Problem base = random_problem(seed, RandomSpec{});
    Graph g = base.graph();
    for (size_t v = 0; v < g.nodes.size(); ++v) {
      if ((seed + v) % 3 == 0) g.nodes[v].workspace_bytes = 10.0 * static_cast<double>(v + 1);
      if ((seed + v) % 4 == 0) g.nodes[v].state_bytes = 7.0 * static_cast<double>(v + 1);
      if ((seed + v) % 5 == 0) g.nodes[v].output_bytes.reset();
    }
    auto built = Problem::build(g, base.platform());
    ASSERT_TRUE(built) << built.error().message;
    const Problem& pr = *built;
    SolveOptions options;
    options.time_limit_s = 2;
    auto replayed = solve(seed % 2 ? "heft" : "auto", pr, options);
    if (!replayed) continue;
    MemoryProfile m = memory_profile(pr, *replayed);
    std::set<double> instants{0.0};
    for (const Placement& p : replayed->placements) instants.insert({p.start_us, p.end_us});
    for (const Transfer& t : replayed->transfers) instants.insert({t.start_us, t.end_us});
    for (int d = 0; d < pr.num_devices(); ++d) {
      double peak = 0;
      for (double t : instants) peak = std::max(peak, held_at(pr, *replayed, d, t));
      EXPECT_NEAR(m.peak_bytes[d], peak, 1e-6 * std::max(1.0, peak)) << "seed " << seed << " device " << d;
      // And every step of the sweep is the definition's value at that instant.
      for (const auto& [t, b] : m.steps[d]) EXPECT_NEAR(b, held_at(pr, *replayed, d, t), 1e-6 * std::max(1.0, b));
    }
    ++checked;
  }
  EXPECT_GT(checked, 40);
}

TEST(Memory, ShortfallNamesTheNodeOrTheTotals) {
  // A node bigger than every device that can run it.
  Problem big = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": null}, "param_bytes": 2048},
      {"id": "y", "cost_us": {"a": 1, "b": 1}, "state_bytes": 10}]})",
                               R"({"devices": [{"name": "a", "kind": "cpu", "memory_bytes": 1536},
      {"name": "b", "kind": "gpu", "memory_bytes": 1e9}]})");
  EXPECT_EQ(memory_shortfall(big),
            "node 'x' needs 2 KiB of weights and state; the largest device that can run it, 'a', has 1.5 KiB");
  auto plan = solve("auto", big, {});
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().kind, ErrorKind::kInfeasible);
  EXPECT_EQ(plan.error().message.rfind("auto: no plan exists: node 'x' needs 2 KiB", 0), 0u) << plan.error().message;
  // Everything together beyond every device together (state counts like weights).
  Problem all = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": 1}, "param_bytes": 60},
      {"id": "y", "cost_us": {"a": 1, "b": 1}, "state_bytes": 60}]})",
                               R"({"devices": [{"name": "a", "kind": "cpu", "memory_bytes": 64},
      {"name": "b", "kind": "gpu", "memory_bytes": 50}]})");
  EXPECT_EQ(memory_shortfall(all),
            "the graph needs at least 120 B of weights and state in all; the platform's 2 "
            "device(s) have 114 B");
  // A plan exists: nothing to say.
  Problem fits = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": 1}, "param_bytes": 60}]})",
                                R"({"devices": [{"name": "a", "kind": "cpu", "memory_bytes": 64},
      {"name": "b", "kind": "gpu"}]})");
  EXPECT_EQ(memory_shortfall(fits), "");
  EXPECT_EQ(bytes_text(3.5 * 1024 * 1024 * 1024), "3.5 GiB");
}

TEST(Memory, ShortfallCountsWhatANodeHoldsWhileItRuns) {
  // y reads 600 B from x and makes 500 B with 100 B of weights: 1.17 KiB at once, more than
  // either device; the weights alone would fit.
  Problem pr = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": 1}, "output_bytes": 600},
      {"id": "y", "cost_us": {"a": 1, "b": 1}, "param_bytes": 100, "output_bytes": 500}],
      "edges": [{"src": "x", "dst": "y", "bytes": 600}]})",
                              R"({"devices": [{"name": "a", "kind": "cpu", "memory_bytes": 1000},
      {"name": "b", "kind": "gpu", "memory_bytes": 900}]})");
  EXPECT_EQ(memory_shortfall(pr),
            "node 'y' holds at least 1.17 KiB while it runs (weights, state, inputs, output, workspace); the "
            "largest device that can run it, 'a', has 1000 B");
  EXPECT_EQ(memory_shortfall(pr, false), "");  // weights and state only (throughput plans)
  // Each node's working set fits device a, the weights fit both together, but not the weights
  // with y's tensors: while y runs, a holds them all.
  Problem total = inline_problem(
      R"({"nodes": [{"id": "x", "cost_us": {"a": 1, "b": 1}, "param_bytes": 600, "output_bytes": 400},
      {"id": "y", "cost_us": {"a": 1, "b": 1}, "param_bytes": 100, "output_bytes": 100}],
      "edges": [{"src": "x", "dst": "y", "bytes": 400}]})",
      R"({"devices": [{"name": "a", "kind": "cpu", "memory_bytes": 1100},
      {"name": "b", "kind": "gpu", "memory_bytes": 50}]})");
  EXPECT_EQ(memory_shortfall(total),
            "the graph needs at least 1.17 KiB in all while node 'y' runs (700 B of weights and state, 500 B of "
            "its tensors and workspace); the platform's 2 device(s) have 1.12 KiB");
  auto plan = solve("heft", pr, {});
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().kind, ErrorKind::kInfeasible);
}

TEST(Memory, ValidatorRejectsLiveTensorsAboveCapacityAndSolveRepairs) {
  // Two branches of 10 us each from a source; each branch output is 400 B, live until the
  // join. Without memory limits everything runs on the GPU `g` (twice as fast), but `g` holds
  // 450 B: there are no weights, and the tensors do not fit.
  Problem pr = inline_problem(
      R"({"nodes": [{"id": "s", "cost_us": {"c": 1, "g": 1}, "output_bytes": 100},
      {"id": "l", "cost_us": {"c": 20, "g": 10}, "output_bytes": 400},
      {"id": "r", "cost_us": {"c": 20, "g": 10}, "output_bytes": 400},
      {"id": "j", "cost_us": {"c": 1, "g": 1}, "output_bytes": 10}],
      "edges": [{"src": "s", "dst": "l", "bytes": 100}, {"src": "s", "dst": "r", "bytes": 100},
      {"src": "l", "dst": "j", "bytes": 400}, {"src": "r", "dst": "j", "bytes": 400}]})",
      R"({"host": "c", "devices": [{"name": "c", "kind": "cpu"}, {"name": "g", "kind": "gpu", "memory_bytes": 450}],
      "links": [{"a": "c", "b": "g", "latency_us": 1, "bandwidth_gbps": 100}]})");
  // Everything on g: s's output (100 B) and both branch outputs (800 B) overlap.
  Mapping all_g;
  all_g.device = {1, 1, 1, 1};
  all_g.order = {{}, {0, 1, 2, 3}};
  auto crowded = latency_objective().evaluate(pr, all_g);
  ASSERT_TRUE(crowded);
  Status bad = validate(pr, *crowded);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("device 'g': 900 bytes held at"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("exceed memory_bytes 450"), std::string::npos) << bad.error().message;
  // Every solver returns a plan that fits; the exhaustive oracle agrees on the optimum, and a
  // repaired plan is never called optimal unless the relaxation's bound proves it.
  const double opt = Oracle(pr).optimum(), relaxed = Oracle(pr).relaxed_optimum();
  ASSERT_TRUE(std::isfinite(opt));
  EXPECT_GT(opt, relaxed);  // memory binds here
  for (const char* name : {"heft", "milp", "bnb", "split", "auto", "m-etf", "m-topo"}) {
    auto plan = solve(name, pr, {});
    ASSERT_TRUE(plan) << name << ": " << plan.error().message;
    EXPECT_TRUE(validate(pr, *plan)) << name;
    EXPECT_EQ(Oracle(pr).check(*plan), "") << name;
    EXPECT_GE(plan->makespan_us, opt * (1 - 1e-9)) << name;
    EXPECT_LE(plan->lower_bound_us, relaxed * (1 + 1e-9)) << name;
    EXPECT_LE(memory_profile(pr, *plan).peak_bytes[1], 450 + 1e-9) << name;
  }
  auto exact = solve("milp", pr, {});
  ASSERT_TRUE(exact);
  EXPECT_NEAR(exact->makespan_us, opt, 1e-6 * opt);
  bool noted = false;
  for (const std::string& note : exact->notes) noted |= note.find("live tensors overflowed 'g'") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(Memory, SteadyStateOfAThroughputPlanFoldsEachLaneOverTheRound) {
  // Reference: each lane alone as a one-inference plan (the latency sweep, checked above against
  // the definition), its tensors repeated every round R x period and summed at every instant.
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    Problem pr = random_problem(seed);
    SolveHooks hooks;
    hooks.objective = &throughput_objective();
    SolveOptions options;
    options.time_limit_s = 2;
    auto plan = solve(seed % 2 ? "replicas" : "stages", pr, options, hooks);
    ASSERT_TRUE(plan) << plan.error().message;
    const double round = plan->lanes * plan->period_us;
    const MemoryProfile steady = memory_profile(pr, *plan);
    std::vector<MemoryProfile> lanes;
    for (int lane = 0; lane < plan->lanes; ++lane) {
      Plan one;
      one.objective = "latency";
      for (const Placement& p : plan->placements)
        if (p.lane == lane) one.placements.push_back(p);
      for (const Transfer& t : plan->transfers)
        if (t.lane == lane) one.transfers.push_back(t);
      for (const HostTransfer& h : plan->host_transfers)
        if (h.lane == lane) one.host_transfers.push_back(h);  // queued on the host's links
      lanes.push_back(memory_profile(pr, one));
    }
    auto tensors_at = [&](const MemoryProfile& m, int d, double t) {  // held minus resident at t
      double v = m.steps[d].front().second;
      for (const auto& [when, bytes] : m.steps[d])
        if (when <= t) v = bytes;
      return v - m.resident_bytes[d];
    };
    for (int d = 0; d < pr.num_devices(); ++d) {
      std::set<double> instants = {0.0};
      double horizon = 0;
      for (const MemoryProfile& m : lanes)
        for (const auto& [when, bytes] : m.steps[d]) {
          instants.insert(std::fmod(when, round));
          horizon = std::max(horizon, when);
        }
      double peak = steady.resident_bytes[d];
      for (double t0 : instants) {
        // Just after the instant: a free and an allocation at one phase, reached by different
        // sums and a modulo, must not add up by a rounding error.
        const double t = t0 + 1e-9 * round;
        double held = steady.resident_bytes[d];
        for (const MemoryProfile& m : lanes)
          for (double k = 0; t + k * round <= horizon + round; ++k) held += tensors_at(m, d, t + k * round);
        peak = std::max(peak, held);
      }
      EXPECT_NEAR(steady.peak_bytes[d], peak, 1e-6 * std::max(1.0, peak)) << "seed " << seed << " device " << d;
    }
  }
}
