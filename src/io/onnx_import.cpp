// The only file that includes ONNX headers.
#include "diviml/io/onnx_import.hpp"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "diviml/core/child_process.hpp"
#include "onnx_eval.hpp"
#include "onnx_passes.hpp"

namespace diviml {
namespace {

// An element count for a message, whatever its size (a hostile shape's product can pass any
// integer type's range).
std::string count_text(double n) {
  char b[64];
  std::snprintf(b, sizeof b, "%.0f", n);
  return b;
}

struct TensorInfo {
  std::vector<long long> dims;
  int elem_bytes = 4;
  bool known = false;
  double bytes() const {
    double n = elem_bytes;
    for (long long d : dims) n *= static_cast<double>(d);
    return n;
  }
  double numel() const { return bytes() / elem_bytes; }
};

int elem_bytes_of(int type) {
  using T = onnx::TensorProto_DataType;
  switch (type) {
    case T::TensorProto_DataType_DOUBLE:
    case T::TensorProto_DataType_INT64:
    case T::TensorProto_DataType_UINT64:
    case T::TensorProto_DataType_COMPLEX64:
      return 8;
    case T::TensorProto_DataType_FLOAT16:
    case T::TensorProto_DataType_BFLOAT16:
    case T::TensorProto_DataType_INT16:
    case T::TensorProto_DataType_UINT16:
      return 2;
    case T::TensorProto_DataType_INT8:
    case T::TensorProto_DataType_UINT8:
    case T::TensorProto_DataType_BOOL:
      return 1;
    default:
      return 4;
  }
}

// Ops with no work of their own: their output stands for their first input.
const std::set<std::string> kFold = {"Reshape", "Flatten", "Squeeze",   "Unsqueeze", "Identity", "Dropout",
                                     "Cast",    "Expand",  "Transpose", "Split",     "Slice",    "Gather"};
// Ops that compute shapes or constants, not data.
const std::set<std::string> kConst = {"Shape", "Constant", "ConstantOfShape", "Range", "Size"};
// Supported compute ops and their FLOPs per output element (those with formulas are below).
const std::unordered_map<std::string, double> kElementwise = {
    {"Relu", 1},
    {"LeakyRelu", 2},
    {"PRelu", 2},
    {"Clip", 2},
    {"Sigmoid", 4},
    {"HardSigmoid", 3},
    {"HardSwish", 4},
    {"Tanh", 6},
    {"Erf", 8},
    {"Gelu", 8},
    {"Add", 1},
    {"Sub", 1},
    {"Mul", 1},
    {"Div", 1},
    {"Pow", 2},
    {"Sqrt", 1},
    {"Exp", 4},
    {"Neg", 1},
    {"BatchNormalization", 2},
    {"InstanceNormalization", 5},
    {"LayerNormalization", 5},
    {"Softmax", 5},
    {"LogSoftmax", 6},
    {"Concat", 0},
    {"Pad", 0},
    {"Resize", 2},
    {"Where", 1},
    {"Equal", 1},
    {"Less", 1},
    {"Greater", 1},
    {"Not", 1},
    {"Max", 1},
    {"Min", 1},
    {"Sum", 1},
    {"Mean", 1},
    {"Tile", 0},
    {"Abs", 1},
    {"Reciprocal", 1},
    {"Softplus", 4},
    {"Mish", 6},
    {"Elu", 4},
    {"Selu", 4},
    {"ReduceMean", 1},
    {"ReduceSum", 1},
    {"ReduceMax", 1},
    {"GlobalAveragePool", 1},
    {"GlobalMaxPool", 1},
    {"Einsum", 2},
    {"Mod", 1},
    {"Silu", 5},
    {"ScatterND", 1},  // per element of the updates (below)
    {"Gather", 1}};    // Gather of a weight table (an embedding lookup) is a compute node
const std::set<std::string> kFormula = {"Conv", "ConvTranspose", "Gemm", "MatMul", "MaxPool", "AveragePool"};

long long attr_int(const onnx::NodeProto& n, const std::string& name, long long dflt) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return dflt;
}

std::vector<long long> attr_ints(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return {a.ints().begin(), a.ints().end()};
  return {};
}

double product(const std::vector<long long>& v, size_t from = 0) {
  double p = 1;
  for (size_t i = from; i < v.size(); ++i) p *= static_cast<double>(v[i]);
  return p;
}

std::string node_name(const onnx::NodeProto& n, int index) {
  if (!n.name().empty()) return n.name();
  std::string name = n.op_type();  // appended: GCC 12 warns falsely on op + " #" (PR105329)
  name += " #";
  name += std::to_string(index);
  return name;
}

Status sort_nodes(onnx::GraphProto& gp, const std::string& path) {
  const int n = gp.node_size();
  std::set<std::string> external;  // model inputs and initializers
  for (const auto& v : gp.input()) external.insert(v.name());
  for (const auto& t : gp.initializer()) external.insert(t.name());
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < n; ++i) {
    const auto& node = gp.node(i);
    if (node.output_size() == 0 ||
        std::all_of(node.output().begin(), node.output().end(), [](const std::string& o) { return o.empty(); }))
      return fail(path + ": node '" + node_name(node, i) + "' has no output");
    for (const auto& out : node.output()) {
      if (out.empty()) continue;
      if (external.count(out))
        return fail(path + ": node '" + node_name(node, i) + "' writes tensor '" + out +
                    "', which is also a model input or initializer");
      auto [it, fresh] = producer.emplace(out, i);
      if (!fresh)
        return fail(path + ": tensor '" + out + "' is written by two nodes, '" +
                    node_name(gp.node(it->second), it->second) + "' and '" + node_name(node, i) + "'");
    }
  }
  std::vector<std::vector<int>> succ(n);
  std::vector<int> indeg(n, 0);
  for (int i = 0; i < n; ++i) {
    std::set<int> preds;
    for (const auto& in : gp.node(i).input()) {
      if (in.empty()) continue;
      auto it = producer.find(in);
      if (it == producer.end()) {
        if (!external.count(in))
          return fail(path + ": node '" + node_name(gp.node(i), i) + "' reads tensor '" + in +
                      "', which no node writes and which is neither a model input nor an initializer");
        continue;
      }
      if (it->second == i)
        return fail(path + ": node '" + node_name(gp.node(i), i) + "' reads its own output '" + in + "'");
      preds.insert(it->second);
    }
    for (int p : preds) succ[p].push_back(i), ++indeg[i];
  }
  // Kahn's algorithm, lowest original index first: a sorted model keeps its order.
  std::set<int> ready;
  for (int i = 0; i < n; ++i)
    if (indeg[i] == 0) ready.insert(i);
  std::vector<int> order;
  order.reserve(n);
  while (!ready.empty()) {
    const int i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (int j : succ[i])
      if (--indeg[j] == 0) ready.insert(j);
  }
  if (static_cast<int>(order.size()) != n) {
    for (int i = 0; i < n; ++i)
      if (indeg[i] > 0) return fail(path + ": the graph has a cycle through node '" + node_name(gp.node(i), i) + "'");
  }
  bool sorted = true;
  for (int i = 0; i < n; ++i) sorted = sorted && order[i] == i;
  if (!sorted) {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (int i : order) *nodes.Add() = gp.node(i);
    gp.mutable_node()->Swap(&nodes);
  }
  return {};
}

// ONNX's shape inference, in a forked child: the library crashes on some malformed models
// (a segfault in convPoolShapeInference was found by fuzzing), and model files are untrusted.
// The child sends back only what inference adds (value_info, outputs); a crash or a stuck
// child (killed after kInferSeconds, all rounds of folding together) is one error line, never
// our process going down.
constexpr int kInferSeconds = 120;
constexpr int kFoldRounds = 100;

Status infer_shapes_isolated(onnx::ModelProto& model, const std::string& path, int seconds) {
  ChildOutcome child = run_in_child(
      [&] {
        try {
          onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                             onnx::ShapeInferenceOptions(false, 0, /*data propagation*/ true));
          onnx::GraphProto shapes;
          *shapes.mutable_value_info() = model.graph().value_info();
          *shapes.mutable_output() = model.graph().output();
          std::string reply = "M";  // appended: GCC 12 warns falsely on "M" + string (PR105329)
          reply += shapes.SerializeAsString();
          return reply;
        } catch (const std::exception& e) {
          return std::string("E") + e.what();
        }
      },
      seconds);
  if (child.kind == ChildOutcome::Kind::kNoChild) return internal_error(path + ": cannot fork for shape inference");
  if (child.kind != ChildOutcome::Kind::kDone || child.output.empty())
    return fail(path + ": ONNX shape inference " + child.describe(kInferSeconds) +
                " on this model: the file is malformed");
  const std::string& data = child.output;
  if (data[0] == 'E') {
    std::string what = data.substr(1);
    std::replace(what.begin(), what.end(), '\n', ' ');
    return fail(path + ": ONNX shape inference failed: " + what);
  }
  onnx::GraphProto shapes;
  if (data[0] != 'M' || !shapes.ParseFromArray(data.data() + 1, static_cast<int>(data.size() - 1)))
    return internal_error(path + ": shape inference returned an unreadable reply");
  *model.mutable_graph()->mutable_value_info() = shapes.value_info();
  *model.mutable_graph()->mutable_output() = shapes.output();
  return {};
}

// The rank a formula needs of the tensor it reads, with a message naming the node.
Status need_rank(const TensorInfo& t, size_t rank, const std::string& what, const std::string& path,
                 const std::string& id) {
  if (t.dims.size() < rank)
    return fail(path + ": node '" + id + "': " + what + " has rank " + std::to_string(t.dims.size()) + ", at least " +
                std::to_string(rank) + " is needed");
  return {};
}

// An Einsum's multiply-adds: the product of the sizes of every index it names (each output
// element sums over the contracted ones), times two. With an ellipsis, or sizes that do not
// agree, two per output element.
double einsum_flops(const onnx::NodeProto& n, const std::vector<std::string>& inputs,
                    std::unordered_map<std::string, TensorInfo>& info, double out_numel) {
  std::vector<std::vector<long long>> shapes;
  for (const auto& t : inputs) shapes.push_back(info[t].dims);
  auto indices = onnx_passes::detail::einsum_indices(n, shapes);
  if (!indices) return 2 * out_numel;
  double product = 2;
  for (const auto& [c, d] : indices->size) product *= static_cast<double>(d);
  return product;
}

// Bytes per element of a fixed-width tensor type read from raw_data (0: a type of its own
// encoding, strings, or unknown: not checked).
size_t raw_width(int type) {
  using T = onnx::TensorProto;
  switch (type) {
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE:
    case T::COMPLEX64:
      return 8;
    case T::INT32:
    case T::UINT32:
    case T::FLOAT:
      return 4;
    case T::INT16:
    case T::UINT16:
    case T::FLOAT16:
    case T::BFLOAT16:
      return 2;
    case T::INT8:
    case T::UINT8:
    case T::BOOL:
      return 1;
    default:
      return 0;
  }
}

// What the file declares, checked before anything is inferred from it: every graph input that is
// not an initializer has a tensor type with a shape (a rank of 0 is a scalar; no shape at all
// is no shape, not a scalar); an initializer's stored data holds exactly its shape's elements;
// the --dim values are whole numbers from 1 to 2^40 (the library checks them for every caller).
Status check_declarations(const onnx::GraphProto& gp, const std::string& path, const OnnxImportOptions& options) {
  for (const auto& [name, value] : options.dims)
    if (value > kMaxOnnxDim)
      return fail(path + ": --dim " + name + "=" + std::to_string(value) + " is out of range (1 to 2^40)");
  std::set<std::string> initialized;
  for (const auto& t : gp.initializer()) {
    initialized.insert(t.name());
    double elements = 1;
    for (auto d : t.dims()) {
      if (d < 0) return fail(path + ": initializer '" + t.name() + "' has a negative dimension");
      elements *= static_cast<double>(d);
    }
    if (t.data_location() == onnx::TensorProto::EXTERNAL) continue;
    const size_t width = raw_width(t.data_type());
    if (t.has_raw_data() && width > 0 &&
        static_cast<double>(t.raw_data().size()) != elements * static_cast<double>(width))
      return fail(path + ": initializer '" + t.name() + "': raw_data holds " + std::to_string(t.raw_data().size()) +
                  " bytes, its shape needs " +
                  std::to_string(static_cast<long long>(elements * static_cast<double>(width))));
    const int typed = t.float_data_size() + t.int32_data_size() + t.int64_data_size() + t.double_data_size() +
                      t.uint64_data_size() + t.string_data_size();
    const bool complex =
        t.data_type() == onnx::TensorProto::COMPLEX64 || t.data_type() == onnx::TensorProto::COMPLEX128;
    if (!t.has_raw_data() && typed > 0 && !complex && static_cast<double>(typed) != elements)
      return fail(path + ": initializer '" + t.name() + "' stores " + std::to_string(typed) +
                  " values, its shape holds " + std::to_string(static_cast<long long>(elements)));
  }
  for (const auto& input : gp.input()) {
    if (initialized.count(input.name())) continue;
    if (!input.type().has_tensor_type() || !input.type().tensor_type().has_shape())
      return fail(path + ": input '" + input.name() +
                  "' has no shape (re-export the model with its input shapes, e.g. torch.onnx.export with an example "
                  "input)");
  }
  return {};
}

}  // namespace

Result<Graph> import_onnx(const std::string& path, const OnnxImportOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return fail(path + ": cannot open file");
  if (!std::filesystem::is_regular_file(path, ec)) return fail(path + ": cannot open file (not a regular file)");
  // Protocol buffers read at most 2 GiB: a larger model keeps its weights in external data.
  if (const auto size = std::filesystem::file_size(path, ec); !ec && size >= (std::uintmax_t{2} << 30))
    return fail(path + ": " + std::to_string(size >> 20) +
                " MiB, beyond the 2 GiB an ONNX model file can hold (save its weights as external data)");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path + ": cannot open file");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return import_onnx_bytes(bytes.str(), path, options);
}

Result<Graph> import_onnx_bytes(const std::string& bytes, const std::string& path, const OnnxImportOptions& options) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes) || !model.has_graph() || model.graph().node_size() == 0)
    return fail(path + ": not an ONNX model (no ModelProto with a graph could be read)");
  // Check the dataflow (every tensor read has one producer, an input or an initializer; no
  // node reads its own output; no cycle) and put the nodes in topological order before shape
  // inference, which needs them sorted: never an edge dropped in silence.
  if (Status s = sort_nodes(*model.mutable_graph(), path); !s) return s.error();
  if (Status s = check_declarations(model.graph(), path, options); !s) return s.error();
  // torch.einsum equations keep their spaces ("b h i d, b h j d -> b h i j"); ONNX 1.12's shape
  // inference rejects them. Spaces mean nothing in an equation: drop them.
  for (auto& node : *model.mutable_graph()->mutable_node())
    if (node.op_type() == "Einsum")
      for (auto& a : *node.mutable_attribute())
        if (a.name() == "equation") {
          std::string eq = a.s();
          eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
          a.set_s(eq);
        }
  // Pin symbolic dimensions of the graph inputs: only those a user can set (the names shape
  // inference invents, unk__N, are not).
  std::map<std::string, std::string> settable;  // dim_param -> the first input that has it
  for (auto& input : *model.mutable_graph()->mutable_input()) {
    if (!input.type().has_tensor_type()) continue;
    auto* shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    for (auto& d : *shape->mutable_dim()) {
      if (!d.has_dim_param()) continue;
      settable.emplace(d.dim_param(), input.name());
      auto it = options.dims.find(d.dim_param());
      if (it == options.dims.end()) continue;
      if (it->second < 1)
        return fail(path + ": --dim " + it->first + "=" + std::to_string(it->second) + " makes input '" + input.name() +
                    "' empty: dimensions must be at least 1");
      d.set_dim_value(it->second);
    }
  }
  for (const auto& [name, value] : options.dims) {
    if (settable.count(name)) continue;
    std::string names;
    for (const auto& [param, input] : settable)
      names += (names.empty() ? "" : ", ") + param + " (input '" + input + "')";
    return fail(path + ": --dim " + name + " matches no symbolic dimension of the model's inputs; " +
                (names.empty() ? std::string("the inputs have none") : "they have: " + names));
  }
  // Infer every shape, fold what is computed from known shapes and constants, and infer again
  // until nothing more folds (torch.onnx computes Slice, Expand and Reshape bounds at run time).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kInferSeconds);
  for (int round = 0;; ++round) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
    if (Status s = infer_shapes_isolated(model, path, std::max(1, static_cast<int>(left.count()))); !s)
      return s.error();
    if (round == kFoldRounds) break;
    const int folded = onnx_passes::fold_constants(*model.mutable_graph());
    if (folded + onnx_passes::complete_shapes(*model.mutable_graph()) == 0) break;
  }
  onnx_passes::fuse_composites(*model.mutable_graph(), {options.fold_batchnorm});
  const onnx::GraphProto& gp = model.graph();
  std::unordered_map<std::string, TensorInfo> info;
  auto record = [&](const onnx::ValueInfoProto& v) {
    TensorInfo t;
    if (!v.type().has_tensor_type()) return;
    const auto& tt = v.type().tensor_type();
    t.elem_bytes = elem_bytes_of(tt.elem_type());
    if (tt.has_shape()) {
      t.known = true;
      for (const auto& d : tt.shape().dim()) {
        if (d.has_dim_value() && d.dim_value() >= 0) {
          t.dims.push_back(d.dim_value());
        } else {
          t.known = false;
          t.dims.push_back(-1);
        }
      }
    }
    info[v.name()] = t;
  };
  for (const auto& v : gp.input()) record(v);
  for (const auto& v : gp.value_info()) record(v);
  for (const auto& v : gp.output()) record(v);
  std::set<std::string> initializers;
  for (const auto& t : gp.initializer()) {
    initializers.insert(t.name());
    TensorInfo ti;
    ti.known = true;
    ti.elem_bytes = elem_bytes_of(t.data_type());
    ti.dims.assign(t.dims().begin(), t.dims().end());
    info[t.name()] = ti;
  }
  // What a user can do about a tensor without a static shape: set an input's symbolic
  // dimension, if one is still unset; else the shape depends on the data.
  std::string unset;
  for (const auto& [param, input] : settable)
    if (!options.dims.count(param)) unset += " --dim " + param + "=N";
  const std::string shape_advice =
      unset.empty() ? "; it depends on values computed at run time, not only on shapes: export the model with "
                      "fixed input sizes (and constant folding)"
                    : "; set the inputs' symbolic dimensions with" + unset;
  std::vector<std::string> unsupported;  // "Op (node 'first one')", each op once
  std::set<std::string> seen_ops;
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& op = gp.node(i).op_type();
    if (!kFold.count(op) && !kConst.count(op) && !kElementwise.count(op) && !kFormula.count(op) &&
        seen_ops.insert(op).second) {
      unsupported.push_back(op + " (node '" + node_name(gp.node(i), i) + "')");
    }
  }
  if (!unsupported.empty()) {
    std::string list;
    for (const auto& op : unsupported) list += (list.empty() ? "" : ", ") + op;
    return fail(path + ": unsupported ONNX op(s): " + list);
  }
  // What each tensor stands for: a node's output, the model input, or a weight/constant.
  enum class Kind { kNode, kInput, kParam };
  struct Rep {
    Kind kind;
    int node = -1;
  };
  std::unordered_map<std::string, Rep> rep;
  std::set<std::string> model_inputs;
  for (const auto& v : gp.input())
    if (!initializers.count(v.name())) rep[v.name()] = {Kind::kInput}, model_inputs.insert(v.name());
  for (const auto& name : initializers) rep[name] = {Kind::kParam};
  Graph g;
  g.name = gp.name().empty() ? std::filesystem::path(path).stem().string() : gp.name();
  std::set<std::string> used_ids;
  std::map<std::pair<int, int>, double> edge_bytes;
  for (int i = 0; i < gp.node_size(); ++i) {
    const onnx::NodeProto& n = gp.node(i);
    const std::string& op = n.op_type();
    std::string id = n.name().empty() ? op + "_" + std::to_string(i) : n.name();
    std::vector<std::string> data_inputs;
    for (const auto& in : n.input())
      if (!in.empty()) data_inputs.push_back(in);
    if (kConst.count(op)) {
      for (const auto& out : n.output()) rep[out] = {Kind::kParam};
      continue;
    }
    bool embedding = op == "Gather" && !data_inputs.empty() && initializers.count(data_inputs[0]);
    // A Concat of pieces of one tensor (torch.roll is written as Slice + Concat) only moves
    // data: folded like a view.
    if (op == "Concat" && data_inputs.size() >= 2) {
      std::set<int> sources;
      bool one_tensor = true;
      for (const auto& t : data_inputs) {
        auto it = rep.find(t);
        if (it == rep.end() || it->second.kind != Kind::kNode)
          one_tensor = false;
        else
          sources.insert(it->second.node);
      }
      if (one_tensor && sources.size() == 1) {
        for (const auto& out : n.output()) rep[out] = rep[data_inputs[0]];
        continue;
      }
    }
    if (op == "Reshape" && !data_inputs.empty() && n.output_size() > 0) {
      // A view keeps every element: a target shape of another size (an empty shape of a tensor
      // of more than one element, say) is a broken model, not a view.
      auto from = info.find(data_inputs[0]), to = info.find(n.output(0));
      if (from != info.end() && to != info.end() && from->second.known && to->second.known &&
          from->second.numel() != to->second.numel())
        return fail(path + ": node '" + id + "': Reshape of " + count_text(from->second.numel()) +
                    " elements into a shape of " + count_text(to->second.numel()));
    }
    if (kFold.count(op) && !embedding) {
      Rep r{Kind::kParam};
      if (!data_inputs.empty() && rep.count(data_inputs[0])) r = rep[data_inputs[0]];
      for (const auto& out : n.output()) rep[out] = r;
      continue;
    }
    // A compute node: every tensor it reads and writes needs a static shape.
    for (const auto* list : {&n.input(), &n.output()})
      for (const auto& t : *list) {
        if (t.empty()) continue;
        auto it = info.find(t);
        if (it == info.end() || !it->second.known)
          return fail(path + ": no static shape for tensor '" + t + "' of node '" + id + "'" + shape_advice);
        if (it->second.numel() == 0)
          return fail(path + ": tensor '" + t + "' of node '" + id +
                      "' is empty (a dimension is 0 at the input sizes " + "given): use larger input dimensions");
      }
    while (used_ids.count(id)) id += "_";
    used_ids.insert(id);
    Node v;
    v.id = id;
    v.op = op;
    double in_bytes = 0, params = 0, input_bytes = 0;
    std::vector<std::pair<int, double>> preds;
    for (const auto& t : data_inputs) {
      double b = info[t].bytes();
      auto it = rep.find(t);
      Kind kind = it == rep.end() ? Kind::kParam : it->second.kind;
      if (kind == Kind::kParam) {
        params += b;
      } else {
        in_bytes += b;
        if (kind == Kind::kInput)
          input_bytes += b;
        else
          preds.push_back({it->second.node, b});
      }
    }
    double out_bytes = 0, out_numel = 0;
    for (const auto& t : n.output())
      if (!t.empty()) out_bytes += info[t].bytes(), out_numel += info[t].numel();
    const TensorInfo& x = info[data_inputs.empty() ? n.output(0) : data_inputs[0]];
    double flops = 0;
    const size_t inputs_needed = op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul" ? 2 : 0;
    if (data_inputs.size() < inputs_needed)
      return fail(path + ": node '" + id + "': " + op + " needs " + std::to_string(inputs_needed) + " inputs, it has " +
                  std::to_string(data_inputs.size()));
    if (inputs_needed > 0) {
      const size_t rank = op == "MatMul" ? 1 : op == "Gemm" ? 2 : 3;
      if (Status s = need_rank(x, rank, "input '" + data_inputs[0] + "'", path, id); !s) return s.error();
      if (Status s = need_rank(info[data_inputs[1]], rank, "input '" + data_inputs[1] + "'", path, id); !s)
        return s.error();
    }
    if (op == "Conv" || op == "ConvTranspose") {
      const TensorInfo& w = info[data_inputs.at(1)];
      if (attr_int(n, "group", 1) < 1) return fail(path + ": node '" + id + "': attribute 'group' must be at least 1");
      long long group = attr_int(n, "group", 1);
      // The groups split the input channels evenly.
      const long long channels = x.dims.size() > 1 ? x.dims[1] : 0;
      if (channels > 0 && (group > channels || channels % group != 0))
        return fail(path + ": node '" + id + "': attribute 'group' " + std::to_string(group) + " does not divide its " +
                    std::to_string(channels) + " input channels");
      // Weight [C_out, C_in/group, k...] for Conv; [C_in, C_out/group, k...] for ConvTranspose.
      double per_out =
          op == "Conv" ? product(w.dims, 1) : product(w.dims, 2) * (w.dims.empty() ? 1 : w.dims[0]) / group;
      flops = 2.0 * (op == "Conv" ? out_numel * per_out : x.numel() * product(w.dims, 1));
    } else if (op == "Gemm") {
      long long k = attr_int(n, "transA", 0) ? x.dims.front() : x.dims.back();
      flops = 2.0 * out_numel * static_cast<double>(k);
    } else if (op == "MatMul") {
      flops = 2.0 * out_numel * static_cast<double>(x.dims.empty() ? 1 : x.dims.back());
    } else if (op == "Einsum") {
      flops = einsum_flops(n, data_inputs, info, out_numel);
    } else if (op == "ScatterND") {
      flops = data_inputs.size() >= 3 ? info[data_inputs[2]].numel() : out_numel;
    } else if (op == "MaxPool" || op == "AveragePool") {
      for (long long kdim : attr_ints(n, "kernel_shape"))
        if (kdim < 1)
          return fail(path + ": node '" + id + "': kernel_shape holds " + std::to_string(kdim) +
                      " (pool kernels are at least 1)");
      flops = out_numel * product(attr_ints(n, "kernel_shape"));
    } else {
      double per = kElementwise.at(op);
      bool reduces = op.rfind("Reduce", 0) == 0 || op.rfind("Global", 0) == 0;
      flops = per * (reduces ? x.numel() : out_numel);
    }
    // Graph files hold numbers up to 1e18 (json_io): a node beyond it (inputs of 2^40 along a
    // dimension) would be written but never read back.
    for (const auto& [what, x] : {std::pair<const char*, double>{"FLOPs", flops},
                                  {"bytes of weights", params},
                                  {"output bytes", out_bytes},
                                  {"bytes accessed", in_bytes + out_bytes + params}})
      if (!std::isfinite(x) || x > 1e18)
        return fail(path + ": node '" + id + "': " + std::to_string(x) + " " + what +
                    ", beyond the 1e18 graph files hold (use smaller input dimensions)");
    v.flops = flops;
    v.param_bytes = params;
    v.output_bytes = out_bytes;
    v.bytes_accessed = in_bytes + out_bytes + params;
    v.input_bytes = input_bytes;
    int idx = g.add_node(std::move(v));
    for (auto [p, b] : preds) edge_bytes[{p, idx}] += b;
    for (const auto& t : n.output()) rep[t] = {Kind::kNode, idx};
  }
  onnx_passes::fuse_attention(g.nodes, edge_bytes);
  if (g.num_nodes() == 0) return fail(path + ": the model has no compute node");
  for (const auto& [pair, b] : edge_bytes) {
    if (b > 1e18)
      return fail(path + ": the tensor from '" + g.nodes[pair.first].id + "' to '" + g.nodes[pair.second].id +
                  "' holds " + std::to_string(b) +
                  " bytes, beyond the 1e18 graph files hold (use smaller input dimensions)");
    g.edges.push_back(Edge{pair.first, pair.second, b});
  }
  if (Status s = g.finalize(); !s) return fail(path + ": " + s.error().message);
  return g;
}

}  // namespace diviml
