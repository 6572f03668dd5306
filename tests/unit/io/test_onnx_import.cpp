#include <gtest/gtest.h>

#include "diviml/io/json_io.hpp"
#include "diviml/io/onnx_import.hpp"

using namespace diviml;

namespace {
const std::string kDir = std::string(DIVIML_TEST_DATA) + "/onnx/";
}

TEST(OnnxImport, SmallCnnNodesEdgesAndQuantities) {
  auto g = import_onnx(kDir + "small_cnn.onnx");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->name, "small_cnn");
  ASSERT_EQ(g->num_nodes(), 5);  // Flatten folded
  const Node& conv1 = g->nodes[g->find("conv1")];
  EXPECT_EQ(conv1.op, "Conv");
  EXPECT_DOUBLE_EQ(*conv1.flops, 2.0 * 8 * 8 * 8 * 3 * 3 * 3);
  EXPECT_DOUBLE_EQ(conv1.param_bytes, 4.0 * (8 * 3 * 3 * 3 + 8));
  EXPECT_DOUBLE_EQ(*conv1.output_bytes, 4.0 * 8 * 8 * 8);
  EXPECT_DOUBLE_EQ(conv1.input_bytes, 4.0 * 3 * 8 * 8);
  EXPECT_DOUBLE_EQ(*conv1.bytes_accessed, 4.0 * (3 * 8 * 8 + 8 * 8 * 8 + 8 * 3 * 3 * 3 + 8));
  const Node& fc = g->nodes[g->find("fc")];
  EXPECT_DOUBLE_EQ(*fc.flops, 2.0 * 10 * 512);
  EXPECT_DOUBLE_EQ(fc.param_bytes, 4.0 * (512 * 10 + 10));
  // Edges: conv1->relu1, relu1->conv2, relu1->add, conv2->add, add->fc (through Flatten).
  ASSERT_EQ(g->num_edges(), 5);
  bool through_flatten = false;
  for (const Edge& e : g->edges)
    if (g->nodes[e.src].id == "add" && g->nodes[e.dst].id == "fc") through_flatten = e.bytes == 4.0 * 512;
  EXPECT_TRUE(through_flatten);
}

TEST(OnnxImport, SymbolicDimensionsNeedAValue) {
  auto g = import_onnx(kDir + "dynamic.onnx");
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message.find("no static shape for tensor 'x' of node 'conv1'; set the inputs' symbolic "
                                   "dimensions with --dim N=N"),
            std::string::npos)
      << g.error().message;
  OnnxImportOptions o;
  o.dims["N"] = 2;
  auto g2 = import_onnx(kDir + "dynamic.onnx", o);
  ASSERT_TRUE(g2) << g2.error().message;
  EXPECT_DOUBLE_EQ(*g2->nodes[g2->find("conv1")].flops, 2 * 2.0 * 8 * 8 * 8 * 3 * 3 * 3);
}

TEST(OnnxImport, UnsupportedOpsAreListedByName) {
  auto g = import_onnx(kDir + "custom_op.onnx");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().message, kDir +
                                   "custom_op.onnx: unsupported ONNX op(s): FancyOp (node 'fancy'), MysteryOp "
                                   "(node 'mystery')");
}

TEST(OnnxImport, NotOnnxAndMissingFile) {
  auto g = import_onnx(kDir + "make_fixtures.py");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().message, kDir + "make_fixtures.py: not an ONNX model (no ModelProto with a graph could be read)");
  auto m = import_onnx(kDir + "nope.onnx");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message, kDir + "nope.onnx: cannot open file");
}

TEST(OnnxImport, GraphRoundTripsThroughTheJsonWriter) {
  auto g = import_onnx(kDir + "small_cnn.onnx");
  ASSERT_TRUE(g);
  auto back = parse_graph(graph_to_json(*g), "small_cnn.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->num_nodes(), g->num_nodes());
  EXPECT_EQ(back->num_edges(), g->num_edges());
}
