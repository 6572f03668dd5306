// The throughput objective: the pipeline replay against hand-computed steady states, its
// validator, and the soundness of the period's bounds.
#include <gtest/gtest.h>

#include <random>
#include <tuple>

#include "diviml/io/json_io.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solvers/streams.hpp"
#include "support/inline_problem.hpp"
#include "support/random_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

namespace {

// Devices A (host) and B; A -> B takes `link_us` whatever the bytes.
std::string two_devices(double link_us) {
  return R"({"host": "A", "devices": [{"name": "A", "kind": "gpu"}, {"name": "B", "kind": "gpu"}],
    "links": [{"a": "A", "b": "B", "latency_us": )" +
         std::to_string(link_us) + R"(, "bandwidth_gbps": 1e9}]})";
}

// a -> b costing (a_us, b_us) on both devices.
std::string pair_graph(double a_us, double b_us) {
  return R"({"nodes": [{"id": "a", "cost_us": {"A": )" + std::to_string(a_us) + R"(, "B": )" + std::to_string(a_us) +
         R"(}}, {"id": "b", "cost_us": {"A": )" + std::to_string(b_us) + R"(, "B": )" + std::to_string(b_us) +
         R"(}}], "edges": [{"src": "a", "dst": "b", "bytes": 8}]})";
}

// One lane, a on A and b on B.
Mapping split_pair() { return Mapping{{0, 1}, {{0}, {1}}}; }

}  // namespace

TEST(PipelineReplay, TwoStagePipelineByHand) {
  // a (3 us) on A, 2 us over the link, b (5 us) on B: a new input every 5 us (B is the
  // bottleneck), each input 3 + 2 + 5 = 10 us from injection to its end.
  Problem pr = inline_problem(pair_graph(3, 5), two_devices(2));
  auto plan = pipeline_replay(pr, split_pair());
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->objective, "throughput");
  EXPECT_NEAR(plan->period_us, 5.0, 1e-5);
  EXPECT_NEAR(plan->latency_us, 10.0, 1e-5);
  EXPECT_NEAR(plan->makespan_us, 10.0, 1e-5);
  ASSERT_EQ(plan->placements.size(), 2u);
  EXPECT_NEAR(plan->placements[0].start_us, 0.0, 1e-3);
  EXPECT_NEAR(plan->placements[0].end_us, 3.0, 1e-3);
  EXPECT_NEAR(plan->placements[1].start_us, 5.0, 1e-3);
  EXPECT_NEAR(plan->placements[1].end_us, 10.0, 1e-3);
  ASSERT_EQ(plan->transfers.size(), 1u);
  EXPECT_NEAR(plan->transfers[0].start_us, 3.0, 1e-3);
  EXPECT_NEAR(plan->transfers[0].end_us, 5.0, 1e-3);
}

// a -> b -> c, 10 us each anywhere; a and c on A, b on B; the link is free.
Problem alternating_chain() {
  return inline_problem(R"({"nodes": [{"id": "a", "cost_us": {"A": 10, "B": 10}},
      {"id": "b", "cost_us": {"A": 10, "B": 10}}, {"id": "c", "cost_us": {"A": 10, "B": 10}}],
      "edges": [{"src": "a", "dst": "b", "bytes": 0}, {"src": "b", "dst": "c", "bytes": 0}]})",
                        two_devices(0));
}

TEST(PipelineReplay, DelaysLetAnAlternatingChainPipeline) {
  Problem pr = alternating_chain();
  // Without delays A repeats a, c for the same input: c waits for b, a for c: 30 us per input.
  Mapping plain{{0, 1, 0}, {{0, 2}, {1}}};
  auto slow = pipeline_replay(pr, plain);
  ASSERT_TRUE(slow) << slow.error().message;
  EXPECT_NEAR(slow->period_us, 30.0, 1e-4);
  EXPECT_NEAR(slow->latency_us, 30.0, 1e-4);
  // Delays 0, 1, 2: in each round A runs a of the new input and c of the input two rounds
  // back, B runs b of the input before: A is busy 20 us per input and never waits.
  Mapping delayed = plain;
  delayed.delay = {0, 1, 2};
  auto fast = pipeline_replay(pr, delayed);
  ASSERT_TRUE(fast) << fast.error().message;
  EXPECT_NEAR(fast->period_us, 20.0, 1e-4);
  // One input: a at 0-10, b in the next round at 20-30, c two rounds on at 50-60 (A runs a of
  // the round's input first, 40-50, then c): 60 us from injection to its end.
  EXPECT_NEAR(fast->latency_us, 60.0, 1e-4);
  EXPECT_EQ(fast->placements[2].delay, 2);
  // The recorded round is one round of every device: c's times are those of the input two
  // rounds back, relative to this round's injection: 10-20.
  EXPECT_NEAR(fast->placements[2].start_us, 10.0, 1e-4);
  EXPECT_NEAR(fast->placements[2].end_us, 20.0, 1e-4);
  // The file keeps the delays; the validator replays them; a changed delay is caught.
  fast->lower_bound_us = 0;
  auto back = parse_plan(plan_to_json(pr, *fast), "p.json", pr);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->placements[2].delay, 2);
  Status ok = throughput_objective().validate(pr, *back);
  EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
  Plan wrong = *back;
  wrong.placements[1].delay = 0;
  EXPECT_FALSE(throughput_objective().validate(pr, wrong));
  wrong.placements[1].delay = kMaxDelay + 1;
  EXPECT_FALSE(throughput_objective().validate(pr, wrong));
  // Delays that go down along an edge deadlock or are refused, never a wrong period.
  Mapping backwards = plain;
  backwards.delay = {2, 1, 0};
  auto b = pipeline_replay(pr, backwards);
  if (b) {
    EXPECT_GE(b->period_us, 20.0 - 1e-6);
  }
}

TEST(PipelineReplay, ModuloSchedulesReachTheBusiestLoad) {
  Problem pr = alternating_chain();
  const std::vector<int> device{0, 1, 0};
  EXPECT_NEAR(stream_loads(pr, device).max_load(), 20.0, 1e-9);
  auto m = modulo_mapping(pr, device, 20.0);
  ASSERT_TRUE(m);
  auto plan = pipeline_replay(pr, *m);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_NEAR(plan->period_us, 20.0, 1e-4);
  // The same with two lanes: rounds of 40 us for two inputs.
  const std::vector<int> two{0, 1, 0, 1, 0, 1};
  auto m2 = modulo_mapping(pr, two, stream_loads(pr, two).max_load());
  ASSERT_TRUE(m2);
  auto plan2 = pipeline_replay(pr, *m2);
  ASSERT_TRUE(plan2) << plan2.error().message;
  EXPECT_NEAR(plan2->period_us, 15.0, 1e-4);
}

TEST(Throughput, TheMilpWithLanesMeetsTheBoundOnTheAlternatingChain) {
  // 30 us of work per input on two identical devices: no plan beats 15 us. Two mirrored lanes
  // (a, c on A and b on B; then the other way round) with delays reach it.
  Problem pr = alternating_chain();
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  SolveOptions options;
  options.time_limit_s = 5;
  auto plan = solve("milp", pr, options, hooks);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_NEAR(plan->period_us, 15.0, 1e-4);
  EXPECT_NEAR(plan->lower_bound_us, 15.0, 1e-4);
  EXPECT_EQ(plan->status, PlanStatus::kOptimal);
  Status s = throughput_objective().validate(pr, *plan);
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
}

TEST(PipelineReplay, CopiesOccupyADeviceWithoutOverlap) {
  // a (4 us) on A, 2 us over the link, b (5 us) on B. With copy engines B sets the period (5);
  // when A drives its copies itself (overlap_comm false) A is busy 4 + 2 = 6 us per input.
  const std::string overlapped = two_devices(2);
  std::string driven = overlapped;
  driven.replace(driven.find(R"("kind": "gpu"})"), 14, R"("kind": "cpu", "overlap_comm": false})");
  ASSERT_NE(driven, overlapped);
  Problem with_engines = inline_problem(pair_graph(4, 5), overlapped);
  Problem without = inline_problem(pair_graph(4, 5), driven);
  auto p1 = pipeline_replay(with_engines, split_pair());
  auto p2 = pipeline_replay(without, split_pair());
  ASSERT_TRUE(p1 && p2);
  EXPECT_NEAR(p1->period_us, 5.0, 1e-5);
  EXPECT_NEAR(p2->period_us, 6.0, 1e-5);
  EXPECT_NEAR(p1->latency_us, 11.0, 1e-5);
  EXPECT_NEAR(p2->latency_us, 11.0, 1e-5);
  // In the recorded round A's copy never overlaps A's compute.
  ASSERT_EQ(p2->transfers.size(), 1u);
  const Placement& a = p2->placements[0];
  const Transfer& t = p2->transfers[0];
  EXPECT_TRUE(t.end_us <= a.start_us + 1e-9 || t.start_us >= a.end_us - 1e-9);
  // Every throughput solver plans for it and its plans validate, and so does a latency solver
  // (the latency replay schedules such copies on the devices too).
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  SolveOptions options;
  options.time_limit_s = 1;
  for (const char* name : {"stages", "balance", "split", "milp", "auto"}) {
    auto plan = solve(name, without, options, hooks);
    ASSERT_TRUE(plan) << name << ": " << plan.error().message;
    EXPECT_GE(plan->period_us, 4.5 - 1e-6) << name;  // 9 us of work per input over two devices
    Status ok = throughput_objective().validate(without, *plan);
    EXPECT_TRUE(ok) << name << ": " << (ok ? "" : ok.error().message);
  }
  auto latency = solve("heft", without, options);
  ASSERT_TRUE(latency) << latency.error().message;
  EXPECT_TRUE(latency_objective().validate(without, *latency));
}

TEST(PipelineReplay, TheLinkIsOneTensorAtATime) {
  // 1 us on each side but 4 us on the link: the link sets the period, not the devices.
  Problem pr = inline_problem(pair_graph(1, 1), two_devices(4));
  auto plan = pipeline_replay(pr, split_pair());
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_NEAR(plan->period_us, 4.0, 1e-5);
  EXPECT_NEAR(plan->latency_us, 6.0, 1e-5);
}

TEST(PipelineReplay, LanesOnTwoDevicesHalveThePeriod) {
  // Two lanes, each the whole model on its own device: inputs alternate, a new one every
  // (3 + 5) / 2 = 4 us, each still 8 us long.
  Problem pr = inline_problem(pair_graph(3, 5), two_devices(100));
  Mapping m{{0, 0, 1, 1}, {{0, 1}, {2, 3}}};
  auto plan = pipeline_replay(pr, m);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->lanes, 2);
  EXPECT_NEAR(plan->period_us, 4.0, 1e-5);
  EXPECT_NEAR(plan->latency_us, 8.0, 1e-5);
  EXPECT_TRUE(throughput_objective().validate(pr, *plan)) << throughput_objective().validate(pr, *plan).error().message;
}

TEST(PipelineReplay, OrdersThatDeadlockAreAClearError) {
  // b before a on one device: b waits for a, which waits for b.
  Problem pr = inline_problem(pair_graph(3, 5), two_devices(2));
  auto plan = pipeline_replay(pr, Mapping{{0, 0}, {{1, 0}, {}}});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("deadlock"), std::string::npos) << plan.error().message;
  EXPECT_NE(plan.error().message.find("node 'b'"), std::string::npos) << plan.error().message;
  EXPECT_FALSE(pipeline_replay(pr, Mapping{{0, 1, 0}, {{0}, {1}}}));  // not a whole lane
}

TEST(Throughput, DataParallelismEmergesOnTwoIdenticalDevicesWithASlowLink) {
  // A chain of four 10 us ops; moving a tensor costs 1000 us. One device gives a period of 40;
  // a replica on each device, inputs alternating, gives 20: what auto must find.
  std::string nodes, edges;
  for (int i = 0; i < 4; ++i) {
    nodes += std::string(i ? ", " : "") + R"({"id": "n)" + std::to_string(i) + R"(", "cost_us": {"A": 10, "B": 10}})";
    if (i)
      edges += std::string(i > 1 ? ", " : "") + R"({"src": "n)" + std::to_string(i - 1) + R"(", "dst": "n)" +
               std::to_string(i) + R"(", "bytes": 8})";
  }
  Problem pr = inline_problem(R"({"nodes": [)" + nodes + R"(], "edges": [)" + edges + "]}", two_devices(1000));
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  auto fastest = solve("fastest", pr, {}, hooks);
  auto best = solve("auto", pr, {}, hooks);
  ASSERT_TRUE(fastest && best) << (fastest ? best.error().message : fastest.error().message);
  EXPECT_NEAR(fastest->period_us, 40.0, 1e-4);
  EXPECT_NEAR(best->period_us, 20.0, 1e-4);
  EXPECT_EQ(best->lanes % 2, 0);
  EXPECT_NEAR(best->latency_us, 40.0, 1e-4);
  // The work bound: 40 us of work per input over two devices.
  EXPECT_NEAR(best->lower_bound_us, 20.0, 1e-4);
  EXPECT_EQ(best->status, PlanStatus::kOptimal);
}

TEST(Throughput, EverySolverPlanValidatesAndRoundTripsThroughTheFile) {
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    Problem pr = random_problem(seed, RandomSpec{10, 3, 0.3, 0.15, true, false});
    for (const char* name : {"fastest", "replicas", "stages", "balance", "split", "milp", "auto"}) {
      SolveOptions options;
      options.time_limit_s = 0.5;
      auto plan = solve(name, pr, options, hooks);
      if (!plan) {
        // Only "no device holds the whole model" may stop the whole-model baselines.
        EXPECT_EQ(plan.error().kind, ErrorKind::kInfeasible) << name << ": " << plan.error().message;
        continue;
      }
      EXPECT_LE(plan->lower_bound_us, plan->period_us * (1 + 1e-9)) << name << " seed " << seed;
      auto back = parse_plan(plan_to_json(pr, *plan), "p.json", pr);
      ASSERT_TRUE(back) << back.error().message;
      EXPECT_EQ(back->lanes, plan->lanes);
      Status s = throughput_objective().validate(pr, *back);
      EXPECT_TRUE(s) << name << " seed " << seed << ": " << (s ? "" : s.error().message);
      // A period the plan does not achieve is caught.
      Plan wrong = *back;
      wrong.period_us *= 0.9;
      EXPECT_FALSE(throughput_objective().validate(pr, wrong)) << name;
    }
  }
}

TEST(Throughput, LatencySolversRefuseTheObjective) {
  Problem pr = random_problem(3);
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  auto plan = solve("heft", pr, {}, hooks);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().kind, ErrorKind::kUsage);
  EXPECT_EQ(plan.error().message, "solver 'heft' does not support the throughput objective");
}

TEST(Throughput, PeriodBoundIsBelowEveryDecisionTried) {
  // Soundness on tiny instances: the bound never exceeds the period of any decision, over
  // random lanes (1-3), devices and per-device orders (each lane's nodes in topological order,
  // lanes interleaved at random).
  std::mt19937 rng(5);
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Problem pr = random_problem(seed, RandomSpec{5, 3, 0.4, 0.0, true, false});
    const double bound = period_lower_bound_us(pr, 10);
    const int n = pr.num_nodes(), k = pr.num_devices();
    for (int trial = 0; trial < 30; ++trial) {
      const int lanes = 1 + static_cast<int>(rng() % 3);
      Mapping m;
      m.device.resize(lanes * n);
      m.order.assign(k, {});
      for (int t = 0; t < lanes * n; ++t) {
        int d;
        do d = static_cast<int>(rng() % k);
        while (!pr.can_run(t % n, d));
        m.device[t] = d;
      }
      std::vector<int> next(lanes, 0);
      const auto& topo = pr.graph().topo_order();
      for (int left = lanes * n; left > 0; --left) {
        int l;
        do l = static_cast<int>(rng() % lanes);
        while (next[l] == n);
        const int t = l * n + topo[next[l]++];
        m.order[m.device[t]].push_back(t);
      }
      auto plan = pipeline_replay(pr, m);
      ASSERT_TRUE(plan) << plan.error().message;
      EXPECT_LE(bound, plan->period_us * (1 + 1e-6) + 1e-9) << "seed " << seed << " trial " << trial;
    }
  }
}

TEST(Throughput, PipeliningEmergesOnAChainTooBigForOneDevice) {
  // Four 10 us ops of 100 bytes of weights each; each device holds two and room for the 8-byte
  // tensors of the inputs in flight: no device runs the whole model, so neither fastest nor
  // replicas has a plan. Two stages of two ops, a fast link: a new input every 20 us, each
  // 10 + 10 + 1 + 10 + 10 = 41 us long.
  std::string nodes, edges;
  for (int i = 0; i < 4; ++i) {
    nodes += std::string(i ? ", " : "") + R"({"id": "n)" + std::to_string(i) +
             R"(", "param_bytes": 100, "cost_us": {"A": 10, "B": 10}})";
    if (i)
      edges += std::string(i > 1 ? ", " : "") + R"({"src": "n)" + std::to_string(i - 1) + R"(", "dst": "n)" +
               std::to_string(i) + R"(", "bytes": 8})";
  }
  Problem pr = inline_problem(R"({"nodes": [)" + nodes + R"(], "edges": [)" + edges + "]}",
                              R"({"host": "A", "devices": [{"name": "A", "kind": "gpu", "memory_bytes": 264},
                                  {"name": "B", "kind": "gpu", "memory_bytes": 264}],
                                  "links": [{"a": "A", "b": "B", "latency_us": 1, "bandwidth_gbps": 1e9}]})");
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  auto fastest = solve("fastest", pr, {}, hooks);
  ASSERT_FALSE(fastest);
  EXPECT_EQ(fastest.error().kind, ErrorKind::kInfeasible);
  auto plan = solve("auto", pr, {}, hooks);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->lanes, 1);
  EXPECT_NEAR(plan->period_us, 20.0, 1e-4);
  EXPECT_NEAR(plan->latency_us, 41.0, 1e-4);
  EXPECT_NE(plan->placements[0].device, plan->placements[3].device);
  EXPECT_TRUE(throughput_objective().validate(pr, *plan));
}

TEST(Throughput, StagesNeverUseADeviceThatCannotReachTheHost) {
  // B can receive from the host A but not send back: b, which returns its output, must stay on
  // A (found by fuzz_solve: the DP's prefix sums of infinite host transfers made NaN).
  Problem pr = inline_problem(
      R"({"nodes": [{"id": "a", "cost_us": {"A": 9, "B": 1}},
                    {"id": "b", "cost_us": {"A": 9, "B": 1}, "output_bytes": 8}],
          "edges": [{"src": "a", "dst": "b", "bytes": 8}]})",
      R"({"host": "A", "devices": [{"name": "A", "kind": "cpu"}, {"name": "B", "kind": "gpu"}],
          "links": [{"a": "A", "b": "B", "latency_us": 1, "bandwidth_gbps": 1e9, "directed": true}]})");
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  auto plan = solve("stages", pr, {}, hooks);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->placements[1].device, 0);
  // Nothing comes back from B, so a cannot run there either: both on A, 18 us per input.
  EXPECT_EQ(plan->placements[0].device, 0);
  EXPECT_NEAR(plan->period_us, 18.0, 1e-4);
}

TEST(Throughput, PipelinesReplicateOverDeviceGroups) {
  // Two 10 us ops on four devices: one pipeline has at most two stages (10 us); two pipelines
  // on disjoint device pairs, inputs alternating, give 5 us, the work bound (20 us over 4).
  Problem pr = inline_problem(
      R"({"nodes": [{"id": "a", "cost_us": {"A": 10, "B": 10, "C": 10, "D": 10}},
                    {"id": "b", "cost_us": {"A": 10, "B": 10, "C": 10, "D": 10}}],
          "edges": [{"src": "a", "dst": "b", "bytes": 8}]})",
      R"({"host": "A", "devices": [{"name": "A", "kind": "gpu"}, {"name": "B", "kind": "gpu"},
                                   {"name": "C", "kind": "gpu"}, {"name": "D", "kind": "gpu"}],
          "default_link": {"latency_us": 1, "bandwidth_gbps": 1e9}})");
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  auto plan = solve("stages", pr, {}, hooks);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_NEAR(plan->period_us, 5.0, 1e-4);
  EXPECT_EQ(plan->lanes % 2, 0);
  EXPECT_NEAR(plan->lower_bound_us, 5.0, 1e-4);
  EXPECT_EQ(plan->status, PlanStatus::kOptimal);
  EXPECT_TRUE(throughput_objective().validate(pr, *plan));
}

TEST(Throughput, MaxLatencyIsHonouredOrAnsweredClearly) {
  // Two stages on A and B: a new input every 5 us at 10 us each. Within 10 us that plan stands;
  // within 8 us only the whole model on one device does (8 us, a period of 8); below 8 nothing.
  Problem pr = inline_problem(pair_graph(3, 5), two_devices(2));
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  SolveOptions o;
  o.max_latency_us = 10;
  auto plan = solve("auto", pr, o, hooks);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_LE(plan->latency_us, 10 + 1e-6);
  EXPECT_NEAR(plan->period_us, 4.0, 1e-4);  // two replicas, each 8 us long, alternate
  o.max_latency_us = 7;
  for (const char* name : {"fastest", "replicas", "stages", "auto"}) {
    auto none = solve(name, pr, o, hooks);
    ASSERT_FALSE(none) << name;
    EXPECT_EQ(none.error().kind, ErrorKind::kInfeasible) << name;
    EXPECT_NE(none.error().message.find("max-latency-us"), std::string::npos) << none.error().message;
  }
  // The latency objective honours it too: HEFT's plan is 8 us here, above 7.
  auto heft = solve("heft", pr, o);
  ASSERT_FALSE(heft);
  EXPECT_EQ(heft.error().kind, ErrorKind::kInfeasible);
}

TEST(Throughput, APlanClaimingMoreLanesThanItPlacesIsRefusedBeforeAllocating) {
  Problem pr = inline_problem(pair_graph(3, 5), two_devices(2));
  auto plan = pipeline_replay(pr, split_pair());
  ASSERT_TRUE(plan);
  plan->lanes = 1000000;
  Status s = throughput_objective().validate(pr, *plan);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "plan: 2 placements for 1000000 lane(s) of 2 nodes");
}

TEST(PipelineReplay, PackedModuloSchedulesReachTheBusiestLoadOfNearlyAnyChoice) {
  // The busiest resource's load per input bounds the period of a device choice. The packed
  // modulo schedule at a round of that load always finds room for every task and move, and the
  // independent replay of its decision runs at that period in nearly every case. It can run
  // slower: a move that waits whole rounds on its link is placed after moves queued later, but
  // the replay serves each link first come, first served (docs/formulation.md, "Throughput").
  // Measured: 9 of 1,500 random choices above the load, by 2% to 9%.
  std::mt19937 rng(11);
  int checked = 0, at_load = 0;
  double worst = 1;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    Problem pr = random_problem(seed, RandomSpec{14, 3, 0.25, 0.1, false, false});
    const int n = pr.num_nodes(), k = pr.num_devices();
    for (int trial = 0; trial < 5; ++trial) {
      const int lanes = 1 + static_cast<int>(rng() % 3);
      std::vector<int> device(static_cast<size_t>(lanes) * n);
      for (int t = 0; t < lanes * n; ++t) {
        int d;
        do d = static_cast<int>(rng() % k);
        while (!pr.can_run(t % n, d));
        device[t] = d;
      }
      const double load = stream_loads(pr, device).max_load();
      if (!std::isfinite(load)) continue;  // a missing link
      auto m = packed_modulo_mapping(pr, device, load);
      ASSERT_TRUE(m) << "seed " << seed << " trial " << trial;
      auto plan = pipeline_replay(pr, *m);
      ASSERT_TRUE(plan) << plan.error().message;
      const double ratio = plan->period_us / (load / lanes);
      EXPECT_GE(ratio, 1 - 1e-6) << "seed " << seed << " trial " << trial;  // the load is a bound
      at_load += ratio <= 1 + 1e-5;
      worst = std::max(worst, ratio);
      ++checked;
    }
  }
  EXPECT_GT(checked, 1000);
  EXPECT_GE(at_load, checked * 0.98) << at_load << " of " << checked;
  EXPECT_LE(worst, 1.15);
}

// The validator checks a throughput plan's tensor moves and host transfers against its replay as
// strictly as a latency plan's transfers: a move on a lane the plan lacks, one listed twice, one
// missing and one at other times are each refused, naming the transfer.
TEST(Throughput, TheValidatorChecksEveryMoveOfTheRound) {
  Problem pr = inline_problem(
      R"({"nodes": [{"id": "a", "input_bytes": 8, "cost_us": {"A": 3, "B": 3}},
                    {"id": "b", "output_bytes": 8, "cost_us": {"A": 5, "B": 5}}],
          "edges": [{"src": "a", "dst": "b", "bytes": 8}]})",
      two_devices(2));
  // Three lanes: a on A and b on B in each.
  Mapping m = pipelined_mapping(pr, {0, 1, 0, 1, 0, 1}, 0);
  auto plan = pipeline_replay(pr, m);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->transfers.size(), 3u);
  ASSERT_TRUE(throughput_objective().validate(pr, *plan));
  auto refused = [&](Plan p, const std::string& what) {
    Status s = throughput_objective().validate(pr, p);
    ASSERT_FALSE(s) << what;
    EXPECT_NE(s.error().message.find(what), std::string::npos) << s.error().message;
  };
  Plan p = *plan;
  p.transfers[1].lane = 99;
  refused(p, "transfer a -> b of lane 99 from 'A' to 'B' is not a move the plan makes");
  p = *plan;
  p.transfers.push_back(p.transfers[0]);
  refused(p, "is listed twice");
  p = *plan;
  p.transfers.pop_back();
  refused(p, "transfer a -> b of lane 2 from 'A' to 'B' is missing");
  p = *plan;
  p.transfers[0].end_us += 1;
  refused(p, "differ from the steady state's");
  p = *plan;
  p.host_transfers.erase(p.host_transfers.begin());
  refused(p, "output transfer of 'b' of lane 0 from 'B' to 'A' is missing");
}

// Memory in the steady state is a constraint of the validator: the same plan on devices that
// hold its weights but not the tensors of its inputs in flight is refused, naming the device and
// the bytes; and every solver's plan there fits.
TEST(Throughput, TheValidatorHoldsTheSteadyStateToMemory) {
  const std::string graph =
      R"({"nodes": [{"id": "a", "param_bytes": 100, "output_bytes": 400, "cost_us": {"A": 10, "B": 10}},
                    {"id": "b", "param_bytes": 100, "output_bytes": 8, "cost_us": {"A": 10, "B": 10}}],
          "edges": [{"src": "a", "dst": "b", "bytes": 400}]})";
  auto devices = [](double bytes) {
    return R"({"host": "A", "devices": [{"name": "A", "kind": "gpu", "memory_bytes": )" + std::to_string(bytes) +
           R"(}, {"name": "B", "kind": "gpu", "memory_bytes": )" + std::to_string(bytes) +
           R"(}], "links": [{"a": "A", "b": "B", "latency_us": 30, "bandwidth_gbps": 1e9}]})";
  };
  // a on A, b on B: each input's 400-byte tensor waits 30 us on the link, and a new input comes
  // every 10 us: A holds three or four of them at once.
  Problem roomy = inline_problem(graph, devices(1e6));
  auto plan = pipeline_replay(roomy, split_pair());
  ASSERT_TRUE(plan);
  ASSERT_TRUE(throughput_objective().validate(roomy, *plan));
  Problem tight = inline_problem(graph, devices(800));
  Status s = throughput_objective().validate(tight, *plan);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("device 'A': "), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("bytes held in the steady state"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("exceed memory_bytes 800"), std::string::npos) << s.error().message;
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  for (const std::string& name : solver_names()) {
    if (!make_solver(name)->supports(throughput_objective())) continue;
    SolveOptions o;
    o.time_limit_s = 2;
    auto p = solve(name, tight, o, hooks);
    if (!p) {
      EXPECT_EQ(p.error().kind, ErrorKind::kInfeasible) << name << ": " << p.error().message;
      continue;
    }
    EXPECT_TRUE(throughput_objective().validate(tight, *p)) << name;
  }
}

namespace {

// x on A feeds y on B and z on C (each only runs there), 4 us over every link; A is the host.
// `servers`: A's, B's and C's servers; `extra`: more platform fields.
Problem fan_out(const std::string& a, const std::string& b, const std::string& c, const std::string& extra = "") {
  return inline_problem(
      R"({"nodes": [{"id": "x", "cost_us": {"A": 1, "B": null, "C": null}},
          {"id": "y", "cost_us": {"A": null, "B": 1, "C": null}}, {"id": "z", "cost_us": {"A": null, "B": null, "C": 1}}],
        "edges": [{"src": "x", "dst": "y", "bytes": 8}, {"src": "x", "dst": "z", "bytes": 8}]})",
      R"({"host": "A", )" + extra + R"("devices": [{"name": "A", "kind": "gpu", "server": ")" + a +
          R"("}, {"name": "B", "kind": "gpu", "server": ")" + b + R"("}, {"name": "C", "kind": "gpu", "server": ")" +
          c + R"("}], "default_link": {"latency_us": 4, "bandwidth_gbps": 1e9}})");
}

Mapping fan_out_mapping() { return Mapping{{0, 1, 2}, {{0}, {1}, {2}}}; }

}  // namespace

// Copies between servers pass each device's share of its server's NICs (docs/cost-model.md): A
// sends x's tensor to B and to C, 4 us each. Within one server, or with dedicated links between
// servers, the two links work at once: a period of 4 us, one input 1 + 4 + 1 = 6 us. With B and
// C on other servers, A's way out carries both copies one after the other: 8 us per round, and
// the second copy waits for the first (latency 1 + 4 + 4 + 1 = 10 us). With only C away, A's
// way out carries one copy: 4 us.
TEST(PipelineReplay, CopiesBetweenServersShareTheSendersWayOut) {
  struct Case {
    Problem pr;
    double period, latency;
  } cases[] = {
      {fan_out("s0", "s0", "s0"), 4, 6},
      {fan_out("s0", "s1", "s2"), 8, 10},
      {fan_out("s0", "s1", "s1"), 8, 10},
      {fan_out("s0", "s0", "s1"), 4, 6},
      {fan_out("s0", "s1", "s2", R"("server_links": "dedicated", )"), 4, 6},
  };
  for (const Case& c : cases) {
    auto plan = pipeline_replay(c.pr, fan_out_mapping());
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_NEAR(plan->period_us, c.period, 1e-5);
    EXPECT_NEAR(plan->latency_us, c.latency, 1e-5);
    EXPECT_TRUE(throughput_objective().validate(c.pr, *plan));
    // The bound sees the way out too: every placement is forced, so it is the period.
    EXPECT_NEAR(period_lower_bound_us(c.pr, 10), c.period, 1e-5);
  }
}

// The receiver's way in likewise: y on B and z on C both send to w on A.
TEST(PipelineReplay, CopiesBetweenServersShareTheReceiversWayIn) {
  auto problem = [](const std::string& b, const std::string& c) {
    return inline_problem(
        R"({"nodes": [{"id": "y", "cost_us": {"A": null, "B": 1, "C": null}},
            {"id": "z", "cost_us": {"A": null, "B": null, "C": 1}}, {"id": "w", "cost_us": {"A": 1, "B": null, "C": null}}],
          "edges": [{"src": "y", "dst": "w", "bytes": 8}, {"src": "z", "dst": "w", "bytes": 8}]})",
        R"({"host": "A", "devices": [{"name": "A", "kind": "gpu", "server": "s0"}, {"name": "B", "kind": "gpu",
          "server": ")" +
            b + R"("}, {"name": "C", "kind": "gpu", "server": ")" + c +
            R"("}], "default_link": {"latency_us": 4, "bandwidth_gbps": 1e9}})");
  };
  const Mapping m{{1, 2, 0}, {{2}, {0}, {1}}};
  for (const auto& [b, c, period] :
       {std::tuple<std::string, std::string, double>{"s0", "s0", 4.0}, {"s1", "s2", 8.0}, {"s0", "s2", 4.0}}) {
    const Problem pr = problem(b, c);
    auto plan = pipeline_replay(pr, m);
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_NEAR(plan->period_us, period, 1e-5) << b << " " << c;
    EXPECT_NEAR(period_lower_bound_us(pr, 10), period, 1e-5) << b << " " << c;
    // Every throughput solver finds the one decision there is, and proves it.
    SolveHooks hooks;
    hooks.objective = &throughput_objective();
    auto best = solve("auto", pr, {}, hooks);
    ASSERT_TRUE(best) << best.error().message;
    EXPECT_NEAR(best->period_us, period, 1e-4);
    EXPECT_EQ(best->status, PlanStatus::kOptimal);
  }
}

TEST(PlatformFile, ServerLinksAreSharedOrDedicatedAndNothingElse) {
  auto bad = parse_platform(R"({"format": "diviml.platform/1", "server_links": "fast",
      "devices": [{"name": "A", "kind": "cpu"}]})",
                            "p.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("server_links"), std::string::npos) << bad.error().message;
  auto dedicated = parse_platform(R"({"format": "diviml.platform/1", "server_links": "dedicated",
      "devices": [{"name": "A", "kind": "cpu", "server": "s0"}, {"name": "B", "kind": "gpu", "server": "s1"}]})",
                                  "p.json");
  ASSERT_TRUE(dedicated) << dedicated.error().message;
  EXPECT_FALSE(dedicated->crosses_servers(0, 1));
  auto again = parse_platform(platform_to_json(*dedicated), "q.json");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->shared_server_links);
  auto shared = parse_platform(R"({"format": "diviml.platform/1",
      "devices": [{"name": "A", "kind": "cpu", "server": "s0"}, {"name": "B", "kind": "gpu", "server": "s1"}]})",
                               "p.json");
  ASSERT_TRUE(shared) << shared.error().message;
  EXPECT_TRUE(shared->crosses_servers(0, 1));
  EXPECT_FALSE(shared->crosses_servers(0, 0));
}
