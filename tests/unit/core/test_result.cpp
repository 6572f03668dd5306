#include <gtest/gtest.h>

#include "diviml/io/json_io.hpp"
#include "support/fixtures.hpp"

using namespace diviml;
using namespace diviml::testing;

TEST(Messages, OneLineEscapesControlAndInvalidBytes) {
  EXPECT_EQ(one_line("node 'a\nb'\t\x01"), "node 'a\\nb'\\t\\x01");
  EXPECT_EQ(one_line(std::string("x\xff\xc3")), "x\\xFF\\xC3");
  EXPECT_EQ(one_line("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");  // valid UTF-8 stays
  EXPECT_EQ(one_line("\xed\xa0\x80"), "\\xED\\xA0\\x80");                       // a surrogate is not UTF-8
}

TEST(Errors, KindsAreTheExitCodesAndPrefixKeepsTheKind) {
  EXPECT_EQ(static_cast<int>(fail("x").kind), 1);
  EXPECT_EQ(static_cast<int>(usage_error("x").kind), 2);
  EXPECT_EQ(static_cast<int>(internal_error("x").kind), 3);
  EXPECT_EQ(static_cast<int>(infeasible("x").kind), 4);
  Error e = prefixed("file.json: ", infeasible("no plan"));
  EXPECT_EQ(e.message, "file.json: no plan");
  EXPECT_EQ(e.kind, ErrorKind::kInfeasible);
}
