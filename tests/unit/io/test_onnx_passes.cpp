// The ONNX importer's folding and fusion, on fixtures written op by op the way torch.onnx
// writes them (tests/data/onnx/make_fixtures.py says what each holds). Expected values are
// worked out by hand from the fixture's shapes, not read back from the importer.
#include <gtest/gtest.h>

#include <algorithm>

#include "diviml/io/onnx_import.hpp"

using namespace diviml;

namespace {
const std::string kDir = std::string(DIVIML_TEST_DATA) + "/onnx/";

const Node& node(const Graph& g, const std::string& id) {
  const int i = g.find(id);
  EXPECT_GE(i, 0) << "no node " << id;
  return g.nodes.at(static_cast<size_t>(std::max(i, 0)));
}

std::vector<std::string> ops(const Graph& g) {
  std::vector<std::string> out;
  for (const Node& n : g.nodes) out.push_back(n.op);
  return out;
}
}  // namespace

TEST(OnnxPasses, ShapesComputedAtRunTimeFoldToStaticOnes) {
  auto g = import_onnx(kDir + "computed_shapes.onnx");
  ASSERT_TRUE(g) << g.error().message;
  // Shape, Gather, Div, Mod, Range, Where, ScatterND, ... all folded away: only the data ops.
  EXPECT_EQ(ops(*g), (std::vector<std::string>{"Relu", "MatMul", "MaxPool", "Add", "Mul"}));
  // chunk: channels [0, 4 / 2) of [1, 4, 6, 6].
  EXPECT_DOUBLE_EQ(*node(*g, "half").output_bytes, 4.0 * 2 * 6 * 6);
  // flatten to [1, 144] (Concat of Shape[0] and -1), times [144, 3].
  EXPECT_DOUBLE_EQ(*node(*g, "fc").flops, 2.0 * 3 * 144);
  // pad_r = (7 - 6 % 7) % 7 = 1 on H and W (pads reversed by a step -1 Slice): 7x7, pooled to 1x1.
  EXPECT_DOUBLE_EQ(*node(*g, "pool").output_bytes, 4.0 * 4);
  EXPECT_DOUBLE_EQ(*node(*g, "pool").flops, 4.0 * 49);
  // The ScatterND mask [2, 2] and the Where scale [1, 4, 1, 1] are constants of their readers.
  EXPECT_DOUBLE_EQ(node(*g, "masked").param_bytes, 4.0 * 4);
  EXPECT_DOUBLE_EQ(*node(*g, "masked").output_bytes, 4.0 * 4);
  EXPECT_DOUBLE_EQ(node(*g, "scaled").param_bytes, 4.0 * 4);
  EXPECT_EQ(g->num_edges(), 0);  // every op reads the model input only
}

TEST(OnnxPasses, CompositesWrittenOpByOpBecomeOneNodeEach) {
  auto g = import_onnx(kDir + "composites.onnx");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(ops(*g), (std::vector<std::string>{"LayerNormalization", "MatMul", "Gelu", "MatMul", "Silu"}));
  const Node& ln = node(*g, "ln");
  EXPECT_DOUBLE_EQ(*ln.flops, 5.0 * 32);            // [1, 8, 4]
  EXPECT_DOUBLE_EQ(ln.param_bytes, 4.0 * (4 + 4));  // gamma, beta
  const Node& fc1 = node(*g, "fc1");                // MatMul + bias: one linear layer
  EXPECT_DOUBLE_EQ(*fc1.flops, 2.0 * 8 * 16 * 4);
  EXPECT_DOUBLE_EQ(fc1.param_bytes, 4.0 * (4 * 16 + 16));
  EXPECT_DOUBLE_EQ(*node(*g, "gelu_erf").flops, 8.0 * 8 * 16);
  EXPECT_DOUBLE_EQ(*node(*g, "silu").flops, 5.0 * 8 * 4);
  EXPECT_EQ(g->num_edges(), 4);  // a chain
}

TEST(OnnxPasses, AttentionWithItsProjectionsIsOneNode) {
  auto g = import_onnx(kDir + "attention.onnx");
  ASSERT_TRUE(g) << g.error().message;
  ASSERT_EQ(g->num_nodes(), 1);
  const Node& mha = g->nodes[0];
  EXPECT_EQ(mha.op, "MultiHeadAttention");
  // 5 tokens, width 8, 2 heads of 4: qkv projection, q / 2, QK^T, + bias, softmax, AV, output projection.
  const double flops =
      2.0 * 5 * 8 * 24 + 40 + 2.0 * 2 * 5 * 5 * 4 + 50 + 5.0 * 50 + 2.0 * 2 * 5 * 4 * 5 + 2.0 * 5 * 8 * 8;
  EXPECT_DOUBLE_EQ(*mha.flops, flops);
  EXPECT_DOUBLE_EQ(mha.param_bytes, 4.0 * (8 * 24 + 24 + 2 * 25 + 8 * 8 + 8 + 1));  // + the scale constant
  EXPECT_DOUBLE_EQ(*mha.output_bytes, 4.0 * 5 * 8);
  EXPECT_DOUBLE_EQ(mha.input_bytes, 4.0 * 5 * 8);
}

TEST(OnnxPasses, BatchNormFoldsIntoTheConvolutionUnlessAsked) {
  auto g = import_onnx(kDir + "conv_bn.onnx");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(ops(*g), (std::vector<std::string>{"Conv", "Relu"}));
  EXPECT_DOUBLE_EQ(node(*g, "conv").param_bytes, 4.0 * (8 * 3 * 3 * 3 + 8));  // the BN's shift as its bias
  EXPECT_DOUBLE_EQ(*node(*g, "conv").flops, 2.0 * 8 * 8 * 8 * 27);
  OnnxImportOptions keep;
  keep.fold_batchnorm = false;
  auto k = import_onnx(kDir + "conv_bn.onnx", keep);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(ops(*k), (std::vector<std::string>{"Conv", "BatchNormalization", "Relu"}));
}

TEST(OnnxPasses, DimNamesMustExistAndTensorsMustNotBeEmpty) {
  OnnxImportOptions o;
  o.dims["batch"] = 2;
  auto g = import_onnx(kDir + "dynamic_hw.onnx", o);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().message, kDir +
                                   "dynamic_hw.onnx: --dim batch matches no symbolic dimension of the model's "
                                   "inputs; they have: H (input 'x'), W (input 'x')");
  OnnxImportOptions tiny;
  tiny.dims = {{"H", 2}, {"W", 8}};
  auto t = import_onnx(kDir + "dynamic_hw.onnx", tiny);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message, kDir +
                                   "dynamic_hw.onnx: tensor 'y' of node 'conv' is empty (a dimension is 0 at the "
                                   "input sizes given): use larger input dimensions");
  OnnxImportOptions zero;
  zero.dims = {{"H", 0}};
  auto z = import_onnx(kDir + "dynamic_hw.onnx", zero);
  ASSERT_FALSE(z);
  EXPECT_EQ(z.error().message,
            kDir + "dynamic_hw.onnx: --dim H=0 makes input 'x' empty: dimensions must be at least 1");
  OnnxImportOptions half;
  half.dims = {{"H", 8}};
  auto h = import_onnx(kDir + "dynamic_hw.onnx", half);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("symbolic dimensions with --dim W=N"), std::string::npos) << h.error().message;
  OnnxImportOptions full;
  full.dims = {{"H", 8}, {"W", 8}};
  auto f = import_onnx(kDir + "dynamic_hw.onnx", full);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_DOUBLE_EQ(*f->nodes[0].output_bytes, 4.0 * 4 * 6 * 6);
}

TEST(OnnxPasses, EinsumWithSpacesGetsItsShapeAndContractionFlops) {
  auto g = import_onnx(kDir + "einsum.onnx");
  ASSERT_TRUE(g) << g.error().message;
  const Node& e = node(*g, "scores");
  EXPECT_DOUBLE_EQ(*e.output_bytes, 4.0 * 2 * 3 * 4);
  EXPECT_DOUBLE_EQ(*e.flops, 2.0 * 2 * 3 * 4 * 5);  // b, i, j, and the contracted d
  EXPECT_DOUBLE_EQ(*node(*g, "relu").output_bytes, 4.0 * 2 * 3 * 4);
}
