// A problem from graph and platform JSON written inline in a test, so the test reads like the
// instance it builds. Parse errors fail the calling test.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "diviml/io/json_io.hpp"

namespace diviml::testing {

inline Problem inline_problem(const std::string& graph_json, const std::string& platform_json) {
  auto g = parse_graph(graph_json, "inline.graph.json");
  auto p = parse_platform(platform_json, "inline.platform.json");
  EXPECT_TRUE(g) << (g ? "" : g.error().message);
  EXPECT_TRUE(p) << (p ? "" : p.error().message);
  auto pr = Problem::build(*g, *p);
  EXPECT_TRUE(pr) << (pr ? "" : pr.error().message);
  return *pr;
}

}  // namespace diviml::testing
