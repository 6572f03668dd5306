#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "diviml/io/json_io.hpp"
#include "support/fixtures.hpp"

using namespace diviml;
using namespace diviml::testing;

TEST(GraphIo, ParsesSpecExample) {
  auto g = parse_graph(R"({"format": "diviml.graph/1", "name": "resnet18",
    "nodes": [
      {"id": "conv1", "op": "conv2d", "cost_us": {"cpu": 812.0, "gpu0": 41.5, "gpu1": null},
       "flops": 118013952, "bytes_accessed": 3813376, "param_bytes": 37632, "output_bytes": 3211264,
       "future_field": [1, 2]},
      {"id": "relu1", "op": "relu", "cost_us": {"cpu": 20.0, "gpu0": 3.1}}],
    "edges": [{"src": "conv1", "dst": "relu1"}]})",
                       "g.json");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->name, "resnet18");
  ASSERT_EQ(g->num_nodes(), 2);
  EXPECT_DOUBLE_EQ(*g->nodes[0].cost_us.at("gpu0"), 41.5);
  EXPECT_FALSE(g->nodes[0].cost_us.at("gpu1").has_value());
  EXPECT_DOUBLE_EQ(g->nodes[0].param_bytes, 37632);
  ASSERT_EQ(g->num_edges(), 1);
  EXPECT_DOUBLE_EQ(g->edges[0].bytes, 3211264);  // defaults to src's output_bytes
}

TEST(GraphIo, EdgeBytesDefaultToZeroWithoutOutputBytes) {
  auto g = parse_graph(R"({"nodes": [{"id": "a"}, {"id": "b"}], "edges": [{"src": "a", "dst": "b"}]})", "g.json");
  ASSERT_TRUE(g);
  EXPECT_DOUBLE_EQ(g->edges[0].bytes, 0.0);
  EXPECT_EQ(g->name, "g");  // falls back to the file's stem
}

TEST(GraphIo, ErrorsNameTheFileAndTheCulprit) {
  EXPECT_EQ(graph_error("{\"nodes\": [}"),
            "g.json: malformed JSON: parse error at line 1, column 12: "
            "syntax error while parsing value - unexpected '}'; expected '[', "
            "'{', or a literal");
  EXPECT_EQ(graph_error(R"({"nodes": [{"id": "a"}, {"id": "b"}],
      "edges": [{"src": "a", "dst": "b"}, {"src": "b", "dst": "a"}]})"),
            "g.json: cycle through node 'a'");
  EXPECT_EQ(graph_error(R"({"nodes": [{"id": "a"}], "edges": [{"src": "a", "dst": "zz"}]})"),
            "g.json: edge a -> zz: unknown node 'zz'");
  EXPECT_EQ(graph_error(R"({"nodes": [{"id": "a"}, {"id": "a"}]})"), "g.json: node 'a': duplicate id");
  EXPECT_EQ(graph_error(R"({"nodes": [{"id": "a", "cost_us": {"cpu": -1}}]})"),
            "g.json: node 'a': field 'cost_us.cpu' is negative");
  EXPECT_EQ(graph_error(R"({"nodes": [{"id": "a", "flops": "many"}]})"),
            "g.json: node 'a': field 'flops' must be a number");
  EXPECT_EQ(graph_error(R"({"nodes": [{"op": "relu"}]})"), "g.json: node #0: missing required field 'id'");
  EXPECT_EQ(graph_error(R"({"edges": []})"), "g.json: missing required field 'nodes'");
  EXPECT_EQ(graph_error(R"({"format": "diviml.plan/1", "nodes": []})"),
            "g.json: field 'format' must be \"diviml.graph/1\"");
  EXPECT_EQ(graph_error(R"({"nodes": [{"id": "a"}], "edges": [{"src": "a", "dst": "a"}]})"),
            "g.json: edge a -> itself: cycle");
  EXPECT_EQ(graph_error(R"({"nodes": [{"id": "a"}, {"id": "b"}], "edges": [{"src": "a", "dst": "b", "bytes": -4}]})"),
            "g.json: edge a -> b: field 'bytes' is negative");
  EXPECT_EQ(graph_error("[1, 2]"), "g.json: expected a JSON object at the top level");
}

TEST(GraphIo, CycleMessageNamesANodeOnTheCycleNotBelowIt) {
  // x -> a -> b -> c -> a, and c -> tail: a, b or c must be named, never x or tail.
  auto msg = graph_error(R"({"nodes": [{"id": "x"}, {"id": "tail"}, {"id": "a"}, {"id": "b"}, {"id": "c"}],
    "edges": [{"src": "x", "dst": "a"}, {"src": "a", "dst": "b"}, {"src": "b", "dst": "c"},
              {"src": "c", "dst": "a"}, {"src": "c", "dst": "tail"}]})");
  EXPECT_TRUE(msg == "g.json: cycle through node 'a'" || msg == "g.json: cycle through node 'b'" ||
              msg == "g.json: cycle through node 'c'")
      << msg;
}

TEST(PlatformIo, ParsesLinksAndDefaults) {
  auto p = parse_platform(kPlatform, "p.json");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->num_devices(), 2);
  EXPECT_EQ(p->host, 0);
  EXPECT_DOUBLE_EQ(p->transfer_us(0, 1, 1e6), 10 + 1e6 / 1e4);
  EXPECT_DOUBLE_EQ(p->transfer_us(1, 0, 1e6), 10 + 1e6 / 1e4);  // symmetric
  EXPECT_DOUBLE_EQ(p->transfer_us(1, 1, 1e6), 0.0);
  EXPECT_EQ(p->devices[0].server, "node0");
}

TEST(PlatformIo, DirectedLinkOverridesOneDirectionAndMissingLinkIsInfinite) {
  auto p = parse_platform(R"({"devices": [{"name": "a", "kind": "cpu"}, {"name": "b", "kind": "gpu"},
      {"name": "c", "kind": "gpu"}],
    "links": [{"a": "a", "b": "b", "latency_us": 1, "bandwidth_gbps": 1, "directed": true},
              {"a": "a", "b": "b", "latency_us": 5, "bandwidth_gbps": 1}]})",
                          "p.json");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_DOUBLE_EQ(p->transfer_us(0, 1, 0), 1.0);
  EXPECT_DOUBLE_EQ(p->transfer_us(1, 0, 0), 5.0);
  EXPECT_EQ(p->transfer_us(0, 2, 0), kInf);
}

TEST(PlatformIo, Errors) {
  EXPECT_EQ(platform_error(R"({"devices": [{"name": "a", "kind": "cpu"}], "host": "gpu9"})"),
            "p.json: field 'host': unknown device 'gpu9'");
  EXPECT_EQ(platform_error(R"({"devices": [{"name": "a", "kind": "cpu"}],
      "links": [{"a": "a", "b": "gpu3", "latency_us": 1, "bandwidth_gbps": 1}]})"),
            "p.json: link a - gpu3: unknown device 'gpu3'");
  EXPECT_EQ(platform_error(R"({"devices": [{"name": "a", "kind": "cpu"}, {"name": "a", "kind": "gpu"}]})"),
            "p.json: device 'a': duplicate device name");
  EXPECT_EQ(platform_error(R"({"devices": [{"name": "a"}]})"), "p.json: device 'a': missing required field 'kind'");
  EXPECT_EQ(platform_error(R"({"devices": [{"name": "a", "kind": "cpu"}, {"name": "b", "kind": "cpu"}],
      "links": [{"a": "a", "b": "b", "latency_us": 1, "bandwidth_gbps": 0}]})"),
            "p.json: link a - b: field 'bandwidth_gbps' must be positive");
  EXPECT_EQ(platform_error(R"({"devices": [{"name": "a", "kind": "cpu", "peak_gflops": -3}]})"),
            "p.json: device 'a': peak_gflops must be a positive number");
  EXPECT_EQ(platform_error(R"({"devices": []})"), "p.json: field 'devices' is empty");
}

TEST(Bundled, ModelsLoadByNameAndAMissingNameListsThem) {
  auto names = bundled_model_names();
  ASSERT_NE(std::find(names.begin(), names.end(), "resnet18"), names.end());
  ASSERT_NE(std::find(names.begin(), names.end(), "training/gpt2.train"), names.end());
  auto g = load_graph("resnet18");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_GT(g->nodes.size(), 50u);
  auto missing = load_graph("nosuchnet");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message.rfind("nosuchnet: no such graph file or bundled model (bundled: ", 0), 0u)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("resnet18"), std::string::npos);
  // A path (with .json) keeps the file's own message; no climbing out of the folder by name.
  EXPECT_EQ(load_graph("nosuchnet.json").error().message, "nosuchnet.json: cannot open file");
  EXPECT_FALSE(load_graph("../models/resnet18"));
}

TEST(Bundled, ADataFolderNamedReplacesTheCompiledOne) {
  const auto dir = std::filesystem::temp_directory_path() / ("diviml-data-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "platforms");
  std::filesystem::create_directories(dir / "models");
  std::filesystem::copy_file(bundled_platforms_dir() + "/cpu-2gpu.json", dir / "platforms" / "mine.json");
  std::filesystem::copy_file(bundled_models_dir() + "/resnet18.json", dir / "models" / "net.json");
  set_bundled_data_dir(dir.string());
  EXPECT_EQ(bundled_platform_names(), std::vector<std::string>{"mine"});
  EXPECT_EQ(bundled_model_names(), std::vector<std::string>{"net"});
  EXPECT_TRUE(load_platform("mine"));
  EXPECT_TRUE(load_graph("net"));
  EXPECT_FALSE(load_graph("resnet18"));
  set_bundled_data_dir("");
  EXPECT_TRUE(load_graph("resnet18"));
  std::filesystem::remove_all(dir);
}

TEST(Bundled, PlatformsLoadAndDefaultExists) {
  auto names = bundled_platform_names();
  ASSERT_GE(names.size(), 2u);
  for (const auto& n : names) {
    auto p = load_platform(n);
    EXPECT_TRUE(p) << n << ": " << p.error().message;
  }
  auto def = load_platform(kDefaultPlatform);
  ASSERT_TRUE(def) << def.error().message;
  EXPECT_GE(def->num_devices(), 3);
  auto missing = load_platform("no-such-platform");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no such platform"), std::string::npos);
}

TEST(PlanIo, RoundTripKeepsEverythingValidationNeeds) {
  auto p = parse_platform(kPlatform, "p.json");
  auto g = parse_graph(R"({"nodes": [{"id": "a", "cost_us": {"cpu": 1, "gpu0": 1}},
      {"id": "b", "cost_us": {"cpu": 1, "gpu0": 1}}], "edges": [{"src": "a", "dst": "b", "bytes": 5}]})",
                       "g.json");
  auto pr = Problem::build(*g, *p);
  ASSERT_TRUE(pr);
  Plan plan;
  plan.solver = "hand";
  plan.status = PlanStatus::kFeasible;
  plan.placements = {{0, 0, 0.0, 1.0}, {1, 1, 12.0, 13.0}};
  plan.transfers = {{0, 0, 1, 1.0, 11.0005}};
  plan.makespan_us = 13.0;
  plan.lower_bound_us = 2.0;
  auto back = parse_plan(plan_to_json(*pr, plan), "plan.json", *pr);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->solver, "hand");
  EXPECT_EQ(back->status, PlanStatus::kFeasible);
  ASSERT_EQ(back->placements.size(), 2u);
  EXPECT_EQ(back->placements[1].device, 1);
  ASSERT_EQ(back->transfers.size(), 1u);
  EXPECT_EQ(back->transfers[0].edge, 0);
  auto bad = parse_plan(R"({"makespan_us": 1, "placements": [{"node": "a", "device": "tpu", "start_us": 0,
      "end_us": 1}]})",
                        "plan.json", *pr);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "plan.json: placement of 'a': unknown device 'tpu'");
}

TEST(PlatformIo, WriterRoundTripsEveryTransferTime) {
  for (const auto& name : bundled_platform_names()) {
    auto p = load_platform(name);
    ASSERT_TRUE(p) << name;
    auto back = parse_platform(platform_to_json(*p), name + ".json");
    ASSERT_TRUE(back) << back.error().message;
    ASSERT_EQ(back->num_devices(), p->num_devices());
    EXPECT_EQ(back->host, p->host);
    for (int a = 0; a < p->num_devices(); ++a) {
      EXPECT_EQ(back->devices[a].name, p->devices[a].name);
      EXPECT_EQ(back->devices[a].memory_bytes, p->devices[a].memory_bytes);
      for (int b = 0; b < p->num_devices(); ++b)
        EXPECT_DOUBLE_EQ(back->transfer_us(a, b, 1e6), p->transfer_us(a, b, 1e6)) << name << " " << a << "->" << b;
    }
  }
}

TEST(GraphIo, WriterSurvivesIdsThatAreNotUtf8) {
  // Ids can come from ONNX node names, which are arbitrary bytes: the writer must not throw.
  Graph g;
  Node v;
  v.id = std::string("bad\xff\xfe id");
  v.cost_us["cpu"] = 1.0;
  g.add_node(v);
  ASSERT_TRUE(g.finalize());
  std::string text;
  ASSERT_NO_THROW(text = graph_to_json(g));
  auto back = parse_graph(text, "back.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->nodes[0].id, "bad\xEF\xBF\xBD\xEF\xBF\xBD id");  // U+FFFD for each bad byte
}

TEST(PlatformIo, OverlapCommIsReadCheckedAndWritten) {
  EXPECT_EQ(platform_error(R"({"devices": [{"name": "a", "kind": "cpu", "overlap_comm": false}]})"), "<parsed>");
  EXPECT_EQ(platform_error(R"({"devices": [{"name": "a", "kind": "cpu", "overlap_comm": true}]})"), "<parsed>");
  EXPECT_EQ(platform_error(R"({"devices": [{"name": "a", "kind": "cpu", "overlap_comm": 0}]})"),
            "p.json: device 'a': field 'overlap_comm' must be true or false");
  auto p = parse_platform(R"({"devices": [{"name": "a", "kind": "cpu", "overlap_comm": false},
                                          {"name": "b", "kind": "gpu"}]})",
                          "p.json");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_FALSE(p->devices[0].overlap_comm);
  EXPECT_TRUE(p->devices[1].overlap_comm);
  auto back = parse_platform(platform_to_json(*p), "p.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_FALSE(back->devices[0].overlap_comm);
  EXPECT_TRUE(back->devices[1].overlap_comm);
}

TEST(GraphIo, BatchIsReadWrittenAndChecked) {
  auto g = parse_graph(R"({"batch": 8, "nodes": [{"id": "a", "cost_us": {"cpu": 1}}]})", "g.json");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->batch, 8);
  auto back = parse_graph(graph_to_json(*g), "g.json");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->batch, 8);
  EXPECT_EQ(graph_error(R"({"batch": 0, "nodes": [{"id": "a"}]})"),
            "g.json: field 'batch' must be a whole number from 1 to 1e9");
  EXPECT_EQ(graph_error(R"({"batch": 2.5, "nodes": [{"id": "a"}]})"),
            "g.json: field 'batch' must be a whole number from 1 to 1e9");
}

TEST(JsonIo, StateAndWorkspaceBytesRoundTripAndRefuseNegatives) {
  auto g = parse_graph(R"({"nodes": [{"id": "a", "cost_us": {"cpu": 1}, "state_bytes": 12, "workspace_bytes": 3}]})",
                       "g.json");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_DOUBLE_EQ(g->nodes[0].state_bytes, 12.0);
  EXPECT_DOUBLE_EQ(g->nodes[0].workspace_bytes, 3.0);
  auto back = parse_graph(graph_to_json(*g), "back.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_DOUBLE_EQ(back->nodes[0].state_bytes, 12.0);
  EXPECT_DOUBLE_EQ(back->nodes[0].workspace_bytes, 3.0);
  auto bad = parse_graph(R"({"nodes": [{"id": "a", "cost_us": {"cpu": 1}, "workspace_bytes": -1}]})", "g.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("workspace_bytes"), std::string::npos) << bad.error().message;
}
