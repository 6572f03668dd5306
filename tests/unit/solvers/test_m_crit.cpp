#include <gtest/gtest.h>

#include "diviml/objective/validate.hpp"
#include "diviml/solve/solve.hpp"
#include "support/inline_problem.hpp"

using namespace diviml;
using diviml::testing::inline_problem;

TEST(MCrit, GivesTheFastDeviceToTheSerialOpAndSpreadsTheParallelOnes) {
  // An LLM layer in miniature: four heads side by side, then one large product. The GPU holds
  // the product or the heads, not both. HEFT fills it with the heads (they come first) and runs
  // the product on a CPU; m-crit gives it the product and spreads the heads over both CPUs.
  std::string heads, edges;
  for (int h = 0; h < 4; ++h) {
    const std::string id = "h" + std::to_string(h);
    heads += R"({"id": ")" + id + R"(", "cost_us": {"gpu": 1, "cpu0": 10, "cpu1": 10}, "param_bytes": 10},)";
    edges +=
        R"({"src": "ln", "dst": ")" + id + R"(", "bytes": 0}, {"src": ")" + id + R"(", "dst": "mlp", "bytes": 0},)";
  }
  edges.pop_back();
  Problem pr = inline_problem(
      R"({"nodes": [{"id": "ln", "cost_us": {"gpu": 1, "cpu0": 1, "cpu1": 1}}, )" + heads +
          R"({"id": "mlp", "cost_us": {"gpu": 2, "cpu0": 40, "cpu1": 40}, "param_bytes": 40}], "edges": [)" + edges +
          "]}",
      R"({"host": "cpu0", "devices": [{"name": "gpu", "kind": "gpu", "memory_bytes": 45},
          {"name": "cpu0", "kind": "cpu"}, {"name": "cpu1", "kind": "cpu"}],
          "default_link": {"latency_us": 0.1, "bandwidth_gbps": 100}})");
  auto crit = solve("m-crit", pr, {});
  auto heft = solve("heft", pr, {});
  ASSERT_TRUE(crit) << crit.error().message;
  ASSERT_TRUE(heft) << heft.error().message;
  EXPECT_TRUE(validate(pr, *crit));
  const auto& g = pr.graph();
  int on_cpu0 = 0, on_cpu1 = 0;
  for (const Placement& p : crit->placements) {
    const std::string& id = g.nodes[p.node].id;
    if (id == "mlp") {
      EXPECT_EQ(pr.platform().devices[p.device].name, "gpu");
    }
    if (id[0] == 'h') {
      on_cpu0 += p.device == 1 ? 1 : 0;
      on_cpu1 += p.device == 2 ? 1 : 0;
    }
  }
  EXPECT_EQ(on_cpu0, 2);
  EXPECT_EQ(on_cpu1, 2);
  EXPECT_LT(crit->makespan_us, heft->makespan_us);
}
