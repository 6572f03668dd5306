#include <gtest/gtest.h>

#include "diviml/objective/throughput.hpp"
#include "diviml/report/report.hpp"
#include "diviml/solve/solve.hpp"
#include "support/random_problem.hpp"

using namespace diviml;

TEST(Gantt, HasALaneAndLegendEntryPerDeviceAndOpKind) {
  Problem pr = diviml::testing::random_problem(3, {12, 3, 0.3, 0.0, true, false});
  auto plan = solve("heft", pr, {});
  ASSERT_TRUE(plan);
  std::string svg = gantt_svg(pr, *plan);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  for (const auto& d : pr.platform().devices) EXPECT_NE(svg.find(">" + d.name + "</text>"), std::string::npos);
  for (const char* op : {"conv", "relu", "add"})
    EXPECT_NE(svg.find(std::string(">") + op + "</text>"), std::string::npos);
  // One box with a tooltip per node, one band per transfer, one memory line per device.
  size_t titles = 0;
  for (size_t p = svg.find("<title>"); p != std::string::npos; p = svg.find("<title>", p + 1)) ++titles;
  EXPECT_EQ(titles, plan->placements.size() + plan->transfers.size() + plan->host_transfers.size() +
                        pr.platform().devices.size());
  size_t lines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) ++lines;
  EXPECT_EQ(lines, pr.platform().devices.size());
  EXPECT_NE(svg.find("memory held over time, peak"), std::string::npos);
  if (!plan->transfers.empty()) {
    EXPECT_NE(svg.find("transfer (sender's band)"), std::string::npos);
  }
}

TEST(Gantt, EscapesNames) {
  Graph g;
  g.name = "a<b>&\"c\"";
  Node node;
  node.id = "n<1>";
  node.op = "op&";
  node.cost_us["d"] = 1.0;
  g.add_node(std::move(node));
  ASSERT_TRUE(g.finalize());
  Platform p;
  p.name = "p";
  Device device;
  device.name = "d";
  device.kind = "cpu";
  device.server = "s";
  p.devices.push_back(device);
  ASSERT_TRUE(p.finalize());
  auto pr = Problem::build(g, p);
  ASSERT_TRUE(pr);
  auto plan = solve("fastest", *pr, {});
  ASSERT_TRUE(plan);
  std::string svg = gantt_svg(*pr, *plan);
  EXPECT_EQ(svg.find("n<1>"), std::string::npos);
  EXPECT_NE(svg.find("n&lt;1&gt;"), std::string::npos);
}

// XML holds no control byte but tab, newline and return, and no byte that is not UTF-8, even as
// a reference: an id with them is written as \xNN text, so the chart stays well-formed (browsers
// drop a whole chart that is not), for latency and throughput plans alike.
TEST(Gantt, ControlAndNonUtf8BytesInIdsStayWellFormed) {
  Graph g;
  g.name = std::string("g\x01");
  for (const std::string& id : {std::string("a\x01"
                                            "b\x07"),
                                std::string("c\xff\x1f")}) {
    Node node;
    node.id = id;
    node.op = std::string("op\x02");
    node.cost_us["d"] = 1.0;
    g.add_node(std::move(node));
  }
  g.edges.push_back(Edge{0, 1, 8});
  ASSERT_TRUE(g.finalize());
  Platform p;
  p.name = "p";
  Device device;
  device.name = "d";
  device.kind = "cpu";
  p.devices.push_back(device);
  ASSERT_TRUE(p.finalize());
  auto pr = Problem::build(g, p);
  ASSERT_TRUE(pr);
  SolveHooks stream;
  stream.objective = &throughput_objective();
  for (const SolveHooks& hooks : {SolveHooks{}, stream}) {
    auto plan = solve("fastest", *pr, {}, hooks);
    ASSERT_TRUE(plan);
    const std::string svg = gantt_svg(*pr, *plan);
    for (unsigned char c : svg) EXPECT_TRUE(c >= 0x20 || c == '\n' || c == '\t' || c == '\r') << int(c);
    EXPECT_EQ(svg.find('\xff'), std::string::npos);
    EXPECT_NE(svg.find("a\\x01b\\x07"), std::string::npos);
  }
}

TEST(Summary, TableShowsGapAndSpeedup) {
  std::vector<SummaryRow> rows{{"heft", "heuristic", 80, 60, 0.01, ""},
                               {"fastest", "heuristic", 120, 60, 0, ""},
                               {"milp", "error", 0, 0, 0, "boom"}};
  std::string t = summary_table(rows, 120);
  EXPECT_NE(t.find("25.0%"), std::string::npos);  // (80-60)/80
  EXPECT_NE(t.find("1.50x"), std::string::npos);
  EXPECT_NE(t.find("1.00x"), std::string::npos);
  EXPECT_NE(t.find("milp       error      boom"), std::string::npos);
}
