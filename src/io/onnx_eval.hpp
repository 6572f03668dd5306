// Known tensor values and the evaluation of ONNX ops on them, for constant folding
// (onnx_passes.hpp); internal to src/io.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace diviml::onnx_passes::detail {

using T = onnx::TensorProto_DataType;

// One folded tensor may have at most this many elements, and one import may fold at most
// kTotalElements in all: enough for shapes, indices, masks and small constant tables.
constexpr long long kMaxElements = 1 << 20;
constexpr long long kTotalElements = 1 << 24;

bool is_integer_type(int t);
bool is_real_type(int t);

// A known tensor: integers in `i`, reals in `f` (one of the two is used, by type).
struct Value {
  int type = T::TensorProto_DataType_INT64;
  std::vector<long long> dims;
  std::vector<long long> i;
  std::vector<double> f;
  bool integer() const { return is_integer_type(type); }
  size_t numel() const { return integer() ? i.size() : f.size(); }
  double real(size_t k) const { return integer() ? static_cast<double>(i[k]) : f[k]; }
};

// Elements of a shape, or -1 when a dimension is negative or the product exceeds kMaxElements.
long long count(const std::vector<long long>& dims);
// The value of an initializer or a Constant's tensor, when it is small and stored in the file.
std::optional<Value> read_tensor(const onnx::TensorProto& t);
// The initializer that stands for a folded tensor (half types are never folded).
onnx::TensorProto write_tensor(const Value& v, const std::string& name);

// Static shapes recorded by shape inference (or the model, or initializers), by tensor name.
using Shapes = std::unordered_map<std::string, std::vector<long long>>;
Shapes static_shapes(const onnx::GraphProto& gp);

// The outputs of node `n` on known inputs (nullptr where unknown; Shape and Size read `shapes`),
// or nothing when it cannot be evaluated (op not known, inputs unknown or malformed, too large).
std::optional<std::vector<Value>> evaluate(const onnx::NodeProto& n, const std::vector<const Value*>& in,
                                           const Shapes& shapes);

// An Einsum's indices: the size of each letter (broadcast dimensions of 1 take the other size)
// and the output's letters (explicit after "->", else the letters used once, in alphabetical
// order). Nothing when the equation has an ellipsis, names a different number of operands or
// of axes than `shapes` has, or sizes disagree.
struct EinsumIndices {
  std::map<char, long long> size;
  std::string output;
};
std::optional<EinsumIndices> einsum_indices(const onnx::NodeProto& n,
                                            const std::vector<std::vector<long long>>& shapes);

}  // namespace diviml::onnx_passes::detail
