// Graph passes of the ONNX importer; internal to src/io (the only folder that touches ONNX).
//
// fold_constants: torch.onnx computes many shapes at run time from the input's static shape
// (Shape -> Gather -> Concat -> Reshape/Slice/Expand). Shape inference cannot see through
// those, so the importer evaluates every node whose inputs are all known (initializers,
// Constant nodes, Shape of a statically shaped tensor) and replaces it by an initializer;
// shape inference then runs again. Bounded: small tensors only, and a total element budget,
// since model files are untrusted.
//
// fuse_composites: ops that one exporter decomposes and the other keeps whole are put back
// into one node (LayerNorm, GELU, SiLU, hard swish, a MatMul and its bias as one linear
// layer, BatchNorm after a convolution), and a Pad by zero is an Identity, so the same model
// gives the same graph by either path (docs/formats.md, "One model, one graph").
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "diviml/graph/graph.hpp"

namespace diviml::onnx_passes {

// Folds what can be folded; returns the number of nodes removed. Never fails: a node it
// cannot evaluate (unknown op, too large, malformed) is left for shape inference and the
// importer to judge.
int fold_constants(onnx::GraphProto& gp);

// Static output shapes for ops whose shape ONNX 1.12's inference leaves open although the
// inputs are static (Einsum: rank only); returns how many it completed.
int complete_shapes(onnx::GraphProto& gp);

// The integers of a small integer initializer, if `name` is one.
std::optional<std::vector<long long>> initializer_ints(const onnx::GraphProto& gp, const std::string& name);

struct FuseOptions {
  bool batchnorm = true;  // fold BatchNormalization into the convolution before it
};

// Returns the number of nodes removed. Needs shape inference done (reads value_info).
int fuse_composites(onnx::GraphProto& gp, const FuseOptions& options);

// After import: attention that torch.onnx writes op by op (an optional scale of Q, the MatMul
// of Q and K, elementwise scale/bias/mask on the scores, Softmax, the MatMul with V) becomes
// one "Attention" node; with its input projection (the only producer of Q, K and V) and its
// output projection (the only reader) it becomes one "MultiHeadAttention" node, the unit
// torch.fx sees (nn.MultiheadAttention, torchvision's shifted window attention). FLOPs and
// weights are summed; the tensors inside the group are no longer memory traffic. Edits `nodes`
// and the edge map in place; returns the number of nodes removed.
int fuse_attention(std::vector<Node>& nodes, std::map<std::pair<int, int>, double>& edge_bytes);

}  // namespace diviml::onnx_passes
