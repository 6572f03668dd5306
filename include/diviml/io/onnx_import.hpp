// ONNX -> graph file. The only ONNX-facing entry point; ONNX and protobuf types stay inside
// src/io/onnx_import.cpp.
//
// Runs ONNX shape inference and folds constant subgraphs (shapes computed at run time from
// static inputs become static), puts decomposed composites back together (LayerNorm, GELU,
// SiLU, hard swish; BatchNorm into the convolution before it), then turns every operator into a node with its op_type,
// forward FLOPs, bytes accessed, resident weight bytes (initializers it reads) and output bytes, and every tensor
// between two operators into an edge. Zero-work ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, Shape,
// Constant, ...) are folded as in the FX exporter.
#pragma once

#include <map>
#include <string>

#include "diviml/core/result.hpp"
#include "diviml/graph/graph.hpp"

namespace diviml {

// Largest value of a symbolic dimension (`dims`, `diviml import --dim`): beyond it a value is a typo.
inline constexpr long long kMaxOnnxDim = 1LL << 40;

struct OnnxImportOptions {
  // Values for symbolic dimensions (dim_param), e.g. {"batch_size": 1}: ONNX exports often
  // leave the batch dynamic, and the cost model needs static shapes.
  // Names that match no symbolic dimension of an input, and values outside 1..2^40, are errors.
  std::map<std::string, long long> dims;
  // Fold BatchNormalization into the convolution that feeds it (as torch.onnx does in eval
  // mode, and as the FX exporter does by default): one rule for both paths.
  bool fold_batchnorm = true;
};

// Errors: the file is not ONNX; shape inference fails; a tensor has no static shape (names the
// tensor and the node, and the symbolic dimension to set); unsupported ops (all listed by name).
Result<Graph> import_onnx(const std::string& path, const OnnxImportOptions& options = {});
// The same from the bytes of a model (`source` names it in messages; the graph's default name).
Result<Graph> import_onnx_bytes(const std::string& bytes, const std::string& source,
                                const OnnxImportOptions& options = {});

}  // namespace diviml
