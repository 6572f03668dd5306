// Seeded random-DAG properties beyond the oracle test (test_oracle.cpp): the same input gives
// the same plan, and auto is never worse than the baselines.
#include <gtest/gtest.h>

#include "../support/random_problem.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/objective/validate.hpp"

using namespace diviml;
using diviml::testing::RandomSpec;
using diviml::testing::random_problem;

TEST(Properties, SameInputSamePlan) {
  Problem pr = random_problem(7, RandomSpec{12, 3, 0.2, 0.1, true, false});
  for (const std::string& name : solver_names()) {
    auto a = solve(name, pr, {});
    auto b = solve(name, pr, {});
    ASSERT_TRUE(a && b);
    a->solve_time_s = b->solve_time_s = 0;
    a->notes.clear();  // notes carry wall-clock times
    b->notes.clear();
    EXPECT_EQ(plan_to_json(pr, *a), plan_to_json(pr, *b)) << name;
  }
}

TEST(Properties, AutoIsTheBestOfTheBaselines) {
  int heft_lost = 0;
  for (std::uint64_t seed = 200; seed < 230; ++seed) {
    Problem pr = random_problem(seed, RandomSpec{10 + static_cast<int>(seed % 20), 3, 0.25, 0.0, true, false});
    SolveOptions opt;
    opt.time_limit_s = 1;
    auto a = solve("auto", pr, opt);
    auto f = solve("fastest", pr, opt);
    auto h = solve("heft", pr, opt);
    ASSERT_TRUE(a && f && h);
    EXPECT_LE(a->makespan_us, std::min(f->makespan_us, h->makespan_us)) << "seed " << seed;
    if (h->makespan_us > f->makespan_us) ++heft_lost;
    ASSERT_FALSE(a->notes.empty());
    EXPECT_EQ(a->notes[0].rfind("auto chose ", 0), 0u);
  }
  RecordProperty("heft_lost_to_fastest", heft_lost);
}
