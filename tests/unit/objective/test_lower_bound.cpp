#include <gtest/gtest.h>

#include <cmath>

#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/milp/milp.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/fastest.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/moves.hpp"
#include "support/fixtures.hpp"
#include "support/inline_problem.hpp"
#include "support/random_problem.hpp"
#include "support/reference_heft.hpp"
#include "support/tricky_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

TEST(LowerBound, CriticalPathAndWork) {
  Problem pr = load("topcuoglu.graph.json", "topcuoglu.platform.json");
  // Device-aware critical path can never exceed HEFT's 80.
  double cp = critical_path_bound_us(pr);
  EXPECT_GT(cp, 0);
  EXPECT_LE(cp, 80.0);
  // Work bound: sum of per-node minima / 3 = (9+13+11+8+10+9+7+5+12+7)/3 = 91/3.
  EXPECT_NEAR(average_work_bound_us(pr), 91.0 / 3.0, 1e-9);
  EXPECT_DOUBLE_EQ(lower_bound_us(pr), std::max(cp, 91.0 / 3.0));
}

TEST(LowerBound, ChainOnOneDeviceIsTight) {
  Problem pr = inline_problem(R"({"nodes": [{"id": "x", "cost_us": {"a": 3, "b": 9}},
      {"id": "y", "cost_us": {"a": 4, "b": 9}}], "edges": [{"src": "x", "dst": "y", "bytes": 100}]})",
                              kTwo);
  EXPECT_DOUBLE_EQ(critical_path_bound_us(pr), 7.0);
  auto plan = solve("heft", pr, {});
  ASSERT_TRUE(plan);
  EXPECT_DOUBLE_EQ(plan->makespan_us, 7.0);
  EXPECT_EQ(plan->status, PlanStatus::kOptimal);  // meets its bound: proven
}

namespace {

// The fractional load LP written out in full (n x k assignment columns), solved by CLP: the
// reference the column-generated work bound must meet.
double full_work_lp(const Problem& pr) {
  MilpModel m;
  const int t = m.add_var(0, kInf, 1.0, false, "t");
  std::vector<std::vector<std::pair<int, double>>> load(pr.num_devices());
  for (int i = 0; i < pr.num_nodes(); ++i) {
    std::vector<std::pair<int, double>> assign;
    for (int d = 0; d < pr.num_devices(); ++d) {
      if (!pr.can_run(i, d)) continue;
      const int y = m.add_var(0, 1, 0, false);
      assign.push_back({y, 1.0});
      load[d].push_back({y, pr.cost_us(i, d)});
    }
    m.add_row(std::move(assign), 1, 1);
  }
  for (auto& row : load) {
    row.push_back({t, -1.0});
    m.add_row(std::move(row), -kInf, 0);
  }
  MilpOptions opt;
  opt.relax = true;
  auto r = make_cbc_backend()->solve(m, opt);
  EXPECT_TRUE(r);
  return r ? r->objective : 0.0;
}

}  // namespace

TEST(LowerBound, ColumnGeneratedWorkBoundMeetsTheFullLp) {
  // Random problems of 2 to 8 devices, some nodes barred from some devices, and roofline
  // graphs on a bundled platform (where a weight ascent had stalled at the average bound).
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    const int devices = 2 + static_cast<int>(seed % 7);
    Problem pr =
        random_problem(seed, RandomSpec{10 + static_cast<int>(seed * 7 % 200), devices, 0.05, 0.3, false, false});
    const double lp = full_work_lp(pr);
    EXPECT_NEAR(lp_work_bound_us(pr, 10), lp, 1e-6 * lp) << "seed " << seed;
    EXPECT_NEAR(ascent_work_bound_us(pr), lp, 1e-6 * lp) << "seed " << seed;
  }
  for (const char* platform : {"cpu-2gpu", "cluster-3srv"}) {
    auto pr = Problem::build(random_dag(1500, 3.0 / 1500, 3), *load_platform(platform));
    ASSERT_TRUE(pr);
    const double lp = full_work_lp(*pr);
    EXPECT_GT(lp, average_work_bound_us(*pr) * 1.01) << platform;  // the case where it matters
    EXPECT_NEAR(lp_work_bound_us(*pr, 10), lp, 1e-6 * lp) << platform;
  }
}
