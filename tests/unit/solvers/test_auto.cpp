#include <gtest/gtest.h>

#include "diviml/io/json_io.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/solve/solve.hpp"
#include "support/fixtures.hpp"
#include "support/random_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

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
