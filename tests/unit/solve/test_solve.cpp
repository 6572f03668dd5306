#include <gtest/gtest.h>

#include <cmath>

#include "diviml/io/json_io.hpp"
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

TEST(Solve, UnknownSolverListsKnownOnes) {
  Problem pr = load("topcuoglu.graph.json", "topcuoglu.platform.json");
  auto plan = solve("magic", pr, {});
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message.rfind("unknown solver 'magic' (known: auto, fastest, heft", 0), 0u);
}

TEST(Properties, SameInputSamePlan) {
  Problem pr = random_problem(7, RandomSpec{12, 3, 0.2, 0.1, true, false});
  for (const std::string& objective : objective_names()) {
    SolveHooks hooks;
    hooks.objective = find_objective(objective);
    for (const std::string& name : solver_names()) {
      if (!make_solver(name)->supports(*hooks.objective)) continue;
      auto a = solve(name, pr, {}, hooks);
      auto b = solve(name, pr, {}, hooks);
      ASSERT_TRUE(a && b) << objective << " " << name;
      a->solve_time_s = b->solve_time_s = 0;
      a->notes.clear();  // notes carry wall-clock times
      b->notes.clear();
      EXPECT_EQ(plan_to_json(pr, *a), plan_to_json(pr, *b)) << objective << " " << name;
    }
  }
}
