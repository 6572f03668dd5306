#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "diviml/solve/options.hpp"
#include "diviml/solve/solve.hpp"
#include "support/random_problem.hpp"

using namespace diviml;

TEST(Options, EveryOptionHasANameAGroupAHelpLineAndItsDefaultInRange) {
  const SolveOptions defaults;
  std::set<std::string> names;
  for (const OptionInfo& o : option_registry()) {
    EXPECT_TRUE(names.insert(o.name).second) << "twice: " << o.name;
    EXPECT_FALSE(o.group.empty()) << o.name;
    EXPECT_FALSE(o.help.empty()) << o.name;
    EXPECT_LE(o.min, o.max) << o.name;
    EXPECT_EQ(find_option(o.name), &o);
  }
  EXPECT_TRUE(check_options(defaults));
  EXPECT_EQ(find_option("no-such-option"), nullptr);
}

TEST(Options, SetParsesChecksRangeAndNamesTheOption) {
  SolveOptions o;
  EXPECT_TRUE(set_option(o, "module-size", "16"));
  EXPECT_EQ(o.module_size, 16);
  EXPECT_TRUE(set_option(o, "time-limit", "2.5"));
  EXPECT_DOUBLE_EQ(o.time_limit_s, 2.5);
  EXPECT_TRUE(set_option(o, "seed", "9223372036854775807"));
  EXPECT_EQ(o.seed, 9223372036854775807ULL);
  auto error = [&](const std::string& name, const std::string& text) {
    Status s = set_option(o, name, text);
    EXPECT_FALSE(s) << name << " " << text;
    EXPECT_EQ(s.error().kind, ErrorKind::kUsage);
    return s ? std::string() : s.error().message;
  };
  EXPECT_EQ(error("threads", "0"), "--threads: '0' is out of range [1, 1024]");
  EXPECT_EQ(error("module-size", "1.5"), "--module-size: '1.5' is not a whole number");
  EXPECT_EQ(error("time-limit", "nan"), "--time-limit: 'nan' is not a finite number");
  EXPECT_EQ(error("time-limit", "1e9"), "--time-limit: '1e9' is out of range [0.001, 1000000]");
  EXPECT_EQ(error("seed", "-1"), "--seed: '-1' is out of range [0, 9223372036854775807]");
  EXPECT_EQ(error("max-channels", "3x"), "--max-channels: '3x' is not a whole number");
  EXPECT_EQ(error("nope", "1"), "unknown option 'nope'");
  // A failed set leaves the value alone.
  EXPECT_EQ(o.threads, 1);
}

TEST(Options, SolveChecksTheRangesForEveryCaller) {
  Problem pr = diviml::testing::random_problem(3);
  SolveOptions o;
  o.threads = 0;
  auto plan = solve("heft", pr, o);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().kind, ErrorKind::kUsage);
  EXPECT_EQ(plan.error().message, "--threads: '0' is out of range [1, 1024]");
  o.threads = 1;
  o.cut_slack = -1;
  EXPECT_FALSE(solve("heft", pr, o));
}

TEST(Options, TheDocumentedTableIsTheRegistry) {
  // docs/options.md carries the table `diviml options --markdown` prints.
  std::ifstream in(std::string(DIVIML_TEST_DATA) + "/../../docs/options.md");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find(options_markdown()), std::string::npos)
      << "docs/options.md is out of date: regenerate its table with `diviml options --markdown`";
}
