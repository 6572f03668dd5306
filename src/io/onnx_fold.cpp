// Constant folding for the ONNX importer (see onnx_passes.hpp).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "onnx_eval.hpp"
#include "onnx_passes.hpp"

namespace diviml::onnx_passes {
namespace {

using namespace detail;
using Known = std::unordered_map<std::string, Value>;

const std::set<std::string> kFoldable = {"Constant",
                                         "Shape",
                                         "Size",
                                         "Identity",
                                         "Add",
                                         "Sub",
                                         "Mul",
                                         "Div",
                                         "Mod",
                                         "Pow",
                                         "Equal",
                                         "Less",
                                         "Greater",
                                         "LessOrEqual",
                                         "GreaterOrEqual",
                                         "Max",
                                         "Min",
                                         "Neg",
                                         "Abs",
                                         "Not",
                                         "Floor",
                                         "Ceil",
                                         "Sqrt",
                                         "Cast",
                                         "Gather",
                                         "Concat",
                                         "Slice",
                                         "Reshape",
                                         "Unsqueeze",
                                         "Squeeze",
                                         "Flatten",
                                         "Expand",
                                         "Transpose",
                                         "ConstantOfShape",
                                         "Range",
                                         "Where",
                                         "ScatterND"};

}  // namespace

std::optional<std::vector<long long>> initializer_ints(const onnx::GraphProto& gp, const std::string& name) {
  for (const auto& t : gp.initializer()) {
    if (t.name() != name) continue;
    if (!is_integer_type(t.data_type())) return std::nullopt;
    long long n = 1;
    for (long long d : t.dims()) {
      if (d < 0 || (d != 0 && n > kMaxElements / d)) return std::nullopt;
      n *= d;
    }
    auto v = read_tensor(t);
    if (!v) return std::nullopt;
    return v->i;
  }
  return std::nullopt;
}

int fold_constants(onnx::GraphProto& gp) {
  const Shapes shapes = static_shapes(gp);
  std::unordered_map<std::string, const onnx::TensorProto*> init;
  for (const auto& t : gp.initializer()) init[t.name()] = &t;
  std::set<std::string> graph_outputs;
  for (const auto& v : gp.output()) graph_outputs.insert(v.name());
  Known known;
  long long budget = kTotalElements;
  auto lookup = [&](const std::string& name) -> const Value* {
    if (name.empty()) return nullptr;
    if (auto it = known.find(name); it != known.end()) return &it->second;
    auto it = init.find(name);
    if (it == init.end()) return nullptr;
    long long n = 1;
    for (long long d : it->second->dims()) {
      if (d < 0 || (d != 0 && n > kMaxElements / d)) return nullptr;
      n *= d;
    }
    if (n > budget) return nullptr;
    auto v = read_tensor(*it->second);
    if (!v) return nullptr;
    budget -= n;
    return &known.emplace(name, std::move(*v)).first->second;
  };
  std::vector<bool> folded(static_cast<size_t>(gp.node_size()), false);
  int removed = 0;
  for (int k = 0; k < gp.node_size() && budget > 0; ++k) {
    const onnx::NodeProto& n = gp.node(k);
    if (n.domain() != "" && n.domain() != "ai.onnx") continue;
    if (n.output_size() != 1 || graph_outputs.count(n.output(0))) continue;
    // Only ops it can evaluate, and only when every input is known or an initializer: weights
    // read by a compute node are never converted (nor charged to the budget).
    if (!kFoldable.count(n.op_type())) continue;
    const bool reads_shape = n.op_type() == "Shape" || n.op_type() == "Size";
    bool available = true;
    for (const auto& name : n.input())
      available = available && (reads_shape || name.empty() || known.count(name) || init.count(name));
    if (!available) continue;
    std::vector<const Value*> in;
    for (const auto& name : n.input()) in.push_back(reads_shape ? nullptr : lookup(name));
    auto out = evaluate(n, in, shapes);
    if (!out || out->size() != 1) continue;
    const long long size = static_cast<long long>((*out)[0].numel());
    const int type = (*out)[0].type;
    if (type == T::TensorProto_DataType_FLOAT16 || type == T::TensorProto_DataType_BFLOAT16) continue;
    if (size > kMaxElements || size > budget) continue;
    budget -= size;
    known[n.output(0)] = std::move((*out)[0]);
    folded[static_cast<size_t>(k)] = true;
  }
  // Initializers for the folded tensors that live nodes read, then the live nodes.
  std::set<std::string> needed;
  for (int k = 0; k < gp.node_size(); ++k)
    if (!folded[static_cast<size_t>(k)])
      for (const auto& name : gp.node(k).input()) needed.insert(name);
  std::set<std::string> written;
  for (int k = 0; k < gp.node_size(); ++k) {
    if (!folded[static_cast<size_t>(k)]) continue;
    const std::string& name = gp.node(k).output(0);
    if (!needed.count(name)) continue;
    *gp.add_initializer() = write_tensor(known.at(name), name);
    written.insert(name);
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> live;
  for (int k = 0; k < gp.node_size(); ++k) {
    if (folded[static_cast<size_t>(k)])
      ++removed;
    else
      *live.Add() = gp.node(k);
  }
  gp.mutable_node()->Swap(&live);
  // Value infos of tensors that are initializers now would contradict nothing, but shape
  // inference recomputes them: drop the stale ones.
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> infos;
  for (const auto& v : gp.value_info())
    if (!written.count(v.name())) *infos.Add() = v;
  gp.mutable_value_info()->Swap(&infos);
  return removed;
}

int complete_shapes(onnx::GraphProto& gp) {
  const Shapes shapes = static_shapes(gp);
  int completed = 0;
  for (const auto& n : gp.node()) {
    if (n.op_type() != "Einsum" || n.output_size() != 1 || shapes.count(n.output(0))) continue;
    std::vector<std::vector<long long>> in;
    for (const auto& name : n.input()) {
      auto it = shapes.find(name);
      if (it == shapes.end()) break;
      in.push_back(it->second);
    }
    if (in.size() != static_cast<size_t>(n.input_size())) continue;
    auto indices = einsum_indices(n, in);
    if (!indices) continue;
    onnx::ValueInfoProto* v = nullptr;
    for (auto& info : *gp.mutable_value_info())
      if (info.name() == n.output(0)) v = &info;
    if (!v) {
      v = gp.add_value_info();
      v->set_name(n.output(0));
    }
    auto* tt = v->mutable_type()->mutable_tensor_type();
    if (tt->elem_type() == 0) {
      for (const auto& info : gp.value_info())
        if (info.name() == n.input(0)) tt->set_elem_type(info.type().tensor_type().elem_type());
      if (tt->elem_type() == 0) tt->set_elem_type(T::TensorProto_DataType_FLOAT);
    }
    auto* shape = tt->mutable_shape();
    shape->clear_dim();
    for (char c : indices->output) shape->add_dim()->set_dim_value(indices->size.at(c));
    ++completed;
  }
  return completed;
}

}  // namespace diviml::onnx_passes
