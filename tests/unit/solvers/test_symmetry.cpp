// Identical devices (cost/symmetry.hpp, `--symmetry`): which devices are identical, that the
// canonical permutation keeps a plan's value, and that milp, bnb and split with each ordering
// reach the same optimum as without, checked against the exhaustive oracle.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "diviml/cost/symmetry.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/solve/solve.hpp"
#include "support/inline_problem.hpp"
#include "support/oracle.hpp"

using namespace diviml;
using diviml::testing::inline_problem;
using diviml::testing::Oracle;

namespace {

// A CPU host and `twins` identical GPUs (same costs, same links), plus one different GPU when
// `odd`; a random DAG of `n` nodes with costs drawn per device class.
Problem twin_problem(std::uint64_t seed, int n, int twins, bool odd, bool memory = false) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::string> devices = {"cpu"};
  for (int t = 0; t < twins; ++t) devices.push_back("g" + std::to_string(t));
  if (odd) devices.push_back("x");
  std::string nodes, edges;
  for (int i = 0; i < n; ++i) {
    const double cpu = std::round(5 + 40 * u(rng)), gpu = std::round(1 + 15 * u(rng)), x = std::round(1 + 20 * u(rng));
    std::string cost = "\"cpu\": " + std::to_string(cpu);
    for (int t = 0; t < twins; ++t) cost += ", \"g" + std::to_string(t) + "\": " + std::to_string(gpu);
    if (odd) cost += ", \"x\": " + std::to_string(x);
    nodes += std::string(i ? ", " : "") + "{\"id\": \"v" + std::to_string(i) + "\", \"cost_us\": {" + cost +
             "}, \"output_bytes\": " + std::to_string(std::round(2000 * u(rng))) +
             (memory ? ", \"param_bytes\": " + std::to_string(std::round(100 * u(rng))) : std::string()) + "}";
    for (int j = 0; j < i; ++j)
      if (u(rng) < 0.35)
        edges += std::string(edges.empty() ? "" : ", ") + "{\"src\": \"v" + std::to_string(j) + "\", \"dst\": \"v" +
                 std::to_string(i) + "\", \"bytes\": " + std::to_string(std::round(8000 * u(rng))) + "}";
  }
  std::string devs, links;
  for (const std::string& d : devices) {
    devs += std::string(devs.empty() ? "" : ", ") + "{\"name\": \"" + d + "\", \"kind\": \"" +
            (d == "cpu" ? "cpu"
             : d == "x" ? "gpu-x"
                        : "gpu") +
            "\"" + (memory && d != "cpu" ? ", \"memory_bytes\": 220" : "") + "}";
    if (d != "cpu")
      links += std::string(links.empty() ? "" : ", ") + "{\"a\": \"cpu\", \"b\": \"" + d +
               "\", \"latency_us\": 2, \"bandwidth_gbps\": 1}";
  }
  return inline_problem("{\"nodes\": [" + nodes + "], \"edges\": [" + edges + "]}",
                        "{\"host\": \"cpu\", \"devices\": [" + devs + "], \"links\": [" + links +
                            "], \"default_link\": {\"latency_us\": 1, \"bandwidth_gbps\": 4}}");
}

}  // namespace

TEST(Symmetry, ClassesAreTheProblemsOwnSymmetry) {
  Problem pr = twin_problem(1, 5, 3, true);
  EXPECT_EQ(device_classes(pr), (std::vector<int>{0, 1, 1, 1, 4}));
  ASSERT_EQ(identical_groups(pr).size(), 1u);
  EXPECT_EQ(identical_groups(pr)[0], (std::vector<int>{1, 2, 3}));
  // A link that differs for one twin (g2 closer to the CPU) breaks its symmetry, not the others'.
  Problem linked =
      inline_problem(R"({"nodes": [{"id": "a", "cost_us": {"cpu": 5, "g0": 1, "g1": 1, "g2": 1}}]})",
                     R"({"host": "cpu", "devices": [{"name": "cpu", "kind": "cpu"}, {"name": "g0", "kind": "gpu"},
          {"name": "g1", "kind": "gpu"}, {"name": "g2", "kind": "gpu"}],
          "links": [{"a": "cpu", "b": "g2", "latency_us": 1, "bandwidth_gbps": 9}],
          "default_link": {"latency_us": 1, "bandwidth_gbps": 4}})");
  EXPECT_EQ(device_classes(linked), (std::vector<int>{0, 1, 1, 3}));
  // A profiled cost that differs breaks it too.
  Problem costed =
      inline_problem(R"({"nodes": [{"id": "a", "cost_us": {"cpu": 5, "g0": 1, "g1": 2}}]})",
                     R"({"host": "cpu", "devices": [{"name": "cpu", "kind": "cpu"}, {"name": "g0", "kind": "gpu"},
          {"name": "g1", "kind": "gpu"}], "default_link": {"latency_us": 1, "bandwidth_gbps": 4}})");
  EXPECT_TRUE(identical_groups(costed).empty());
}

TEST(Symmetry, TheCanonicalPermutationKeepsThePlansValue) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Problem pr = twin_problem(seed, 9, 3, seed % 2);
    auto plan = solve("heft", pr, {});
    ASSERT_TRUE(plan);
    Mapping m = mapping_of(pr, *plan);
    for (auto rule : {SymmetryRule::kInputs, SymmetryRule::kOps, SymmetryRule::kBusy}) {
      const std::vector<int> perm = canonical_permutation(pr, m.device, rule);
      Mapping moved = m;
      moved.order.assign(pr.num_devices(), {});
      for (int v = 0; v < pr.num_nodes(); ++v) moved.device[v] = perm[m.device[v]];
      for (int d = 0; d < pr.num_devices(); ++d) moved.order[perm[d]] = m.order[d];
      auto again = replay(pr, moved);
      ASSERT_TRUE(again);
      EXPECT_NEAR(again->makespan_us, plan->makespan_us, 1e-9 * plan->makespan_us) << "seed " << seed;
    }
  }
}

TEST(Symmetry, EveryOrderingKeepsTheOptimum) {
  // Exact solvers with each ordering reach the oracle's optimum; split's plans stay valid and
  // are never worse than without symmetry by more than its own heuristic slack allows (here:
  // equal, the modules are small enough to be solved exactly).
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 24; ++seed) {
    Problem pr = twin_problem(seed, 6 + static_cast<int>(seed % 2), seed % 3 == 0 ? 2 : 3, seed % 2, seed % 4 == 0);
    const double opt = Oracle(pr).optimum();
    if (!std::isfinite(opt)) continue;
    ++checked;
    for (const char* solver : {"milp", "bnb", "split"})
      for (const char* rule : {"none", "inputs", "ops", "busy"}) {
        SolveOptions o;
        o.time_limit_s = 20;
        ASSERT_TRUE(set_option(o, "symmetry", rule));
        auto plan = solve(solver, pr, o);
        ASSERT_TRUE(plan) << solver << " " << rule << ": " << plan.error().message;
        EXPECT_TRUE(validate(pr, *plan));
        EXPECT_EQ(Oracle(pr).check(*plan), "");
        EXPECT_NEAR(plan->makespan_us, opt, 1e-6 * opt) << solver << " " << rule << " seed " << seed;
        EXPECT_LE(plan->lower_bound_us, opt * (1 + 1e-9)) << solver << " " << rule << " seed " << seed;
      }
  }
  EXPECT_GE(checked, 20);
}
