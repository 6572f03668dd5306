// Composite ops put back together for the ONNX importer (see onnx_passes.hpp).
//
// torch.onnx (opset < 17) writes LayerNorm as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt,
// Div, Mul, Add; exact GELU as Div, Erf, Add, Mul, Mul; SiLU as Sigmoid, Mul; hard swish
// (opset 13) as HardSigmoid, Mul. torch.fx sees each as one module. Costing nine kernels
// where the framework runs one (and FX sees one) made the same model 2.2x slower by one path,
// so each pattern becomes one node again: LayerNormalization, Gelu, Silu, HardSwish.
// BatchNormalization right after a convolution (its only reader) is folded into the
// convolution, as torch.onnx itself does in eval mode: the convolution gains a bias.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "onnx_passes.hpp"

namespace diviml::onnx_passes {
namespace {

class Dataflow {
 public:
  explicit Dataflow(const onnx::GraphProto& gp) : gp_(gp) {
    for (int k = 0; k < gp.node_size(); ++k) {
      for (const auto& out : gp.node(k).output()) producer_[out] = k;
      for (const auto& in : gp.node(k).input())
        if (!in.empty()) readers_[in].push_back(k);
    }
    for (const auto& v : gp.output()) graph_outputs_.insert(v.name());
    for (const auto& t : gp.initializer()) initializers_.insert(t.name());
  }

  // The node that writes `tensor`, if it has the given op type.
  std::optional<int> producer(const std::string& tensor, const std::string& op) const {
    auto it = producer_.find(tensor);
    if (it == producer_.end() || gp_.node(it->second).op_type() != op) return std::nullopt;
    return it->second;
  }
  // The nodes that read `tensor`; empty when it is a graph output (it must stay visible).
  std::vector<int> readers(const std::string& tensor) const {
    if (graph_outputs_.count(tensor)) return {};
    auto it = readers_.find(tensor);
    return it == readers_.end() ? std::vector<int>{} : it->second;
  }
  // The only reader of `tensor`, if it has the given op type.
  std::optional<int> only_reader(const std::string& tensor, const std::string& op) const {
    auto r = readers(tensor);
    if (r.size() != 1 || gp_.node(r[0]).op_type() != op) return std::nullopt;
    return r[0];
  }
  // An initializer, a Constant, or an Identity of one (torch.onnx writes shared weights of a
  // model over 2 GB, stored outside the file, as Identity nodes of one initializer).
  bool is_constant(const std::string& tensor, int depth = 0) const {
    if (initializers_.count(tensor)) return true;
    auto it = producer_.find(tensor);
    if (it == producer_.end() || depth > 8) return false;
    const auto& n = gp_.node(it->second);
    return n.op_type() == "Constant" ||
           (n.op_type() == "Identity" && n.input_size() == 1 && is_constant(n.input(0), depth + 1));
  }
  const onnx::NodeProto& node(int k) const { return gp_.node(k); }

 private:
  const onnx::GraphProto& gp_;
  std::unordered_map<std::string, int> producer_;
  std::unordered_map<std::string, std::vector<int>> readers_;
  std::set<std::string> graph_outputs_, initializers_;
};

// The other input of a two-input node, given one of them.
std::optional<std::string> other_input(const onnx::NodeProto& n, const std::string& one) {
  if (n.input_size() != 2) return std::nullopt;
  if (n.input(0) == one) return n.input(1);
  if (n.input(1) == one) return n.input(0);
  return std::nullopt;
}

struct Fusion {
  std::vector<int> nodes;  // removed
  onnx::NodeProto replacement;
};

onnx::NodeProto make_node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                          const std::string& output) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (const auto& in : inputs) n.add_input(in);
  n.add_output(output);
  return n;
}

// ReduceMean(X) -> Sub(X, mean) -> Pow(d, c) -> ReduceMean -> Add(c) -> Sqrt -> Div(d, s)
// [-> Mul(gamma) [-> Add(beta)]].
std::optional<Fusion> layer_norm(const Dataflow& df, int mean) {
  const auto& m = df.node(mean);
  if (m.input_size() != 1) return std::nullopt;
  const std::string x = m.input(0);
  auto sub = df.only_reader(m.output(0), "Sub");
  if (!sub || df.node(*sub).input(0) != x || df.node(*sub).input(1) != m.output(0)) return std::nullopt;
  const std::string d = df.node(*sub).output(0);
  auto readers = df.readers(d);
  if (readers.size() != 2) return std::nullopt;
  std::optional<int> pow, div;
  for (int r : readers) {
    if (df.node(r).op_type() == "Pow" && df.node(r).input(0) == d && df.is_constant(df.node(r).input(1))) pow = r;
    if (df.node(r).op_type() == "Div" && df.node(r).input_size() == 2 && df.node(r).input(0) == d) div = r;
  }
  if (!pow || !div) return std::nullopt;
  auto var = df.only_reader(df.node(*pow).output(0), "ReduceMean");
  if (!var) return std::nullopt;
  auto add = df.only_reader(df.node(*var).output(0), "Add");
  if (!add) return std::nullopt;
  auto eps = other_input(df.node(*add), df.node(*var).output(0));
  if (!eps || !df.is_constant(*eps)) return std::nullopt;
  auto sqrt = df.only_reader(df.node(*add).output(0), "Sqrt");
  if (!sqrt || df.node(*div).input(1) != df.node(*sqrt).output(0)) return std::nullopt;
  Fusion f;
  f.nodes = {mean, *sub, *pow, *var, *add, *sqrt, *div};
  std::vector<std::string> inputs = {x};
  std::string out = df.node(*div).output(0);
  if (auto mul = df.only_reader(out, "Mul")) {
    auto gamma = other_input(df.node(*mul), out);
    if (gamma && df.is_constant(*gamma)) {
      f.nodes.push_back(*mul);
      inputs.push_back(*gamma);
      out = df.node(*mul).output(0);
      if (auto bias = df.only_reader(out, "Add")) {
        auto beta = other_input(df.node(*bias), out);
        if (beta && df.is_constant(*beta)) {
          f.nodes.push_back(*bias);
          inputs.push_back(*beta);
          out = df.node(*bias).output(0);
        }
      }
    }
  }
  f.replacement = make_node("LayerNormalization", m.name().empty() ? out : m.name(), inputs, out);
  return f;
}

// Div(X, c) -> Erf -> Add(c) -> Mul(X, .) -> Mul(c); the two Muls in either order of operands.
std::optional<Fusion> gelu(const Dataflow& df, int erf) {
  const auto& e = df.node(erf);
  if (e.input_size() != 1) return std::nullopt;
  auto div = df.producer(e.input(0), "Div");
  if (!div || df.readers(e.input(0)).size() != 1 || !df.is_constant(df.node(*div).input(1))) return std::nullopt;
  const std::string x = df.node(*div).input(0);
  auto add = df.only_reader(e.output(0), "Add");
  if (!add) return std::nullopt;
  auto one = other_input(df.node(*add), e.output(0));
  if (!one || !df.is_constant(*one)) return std::nullopt;
  auto mul = df.only_reader(df.node(*add).output(0), "Mul");
  if (!mul || other_input(df.node(*mul), df.node(*add).output(0)) != x) return std::nullopt;
  auto half = df.only_reader(df.node(*mul).output(0), "Mul");
  if (!half) return std::nullopt;
  auto c = other_input(df.node(*half), df.node(*mul).output(0));
  if (!c || !df.is_constant(*c)) return std::nullopt;
  Fusion f;
  f.nodes = {*div, erf, *add, *mul, *half};
  const std::string out = df.node(*half).output(0);
  f.replacement = make_node("Gelu", e.name().empty() ? out : e.name(), {x}, out);
  return f;
}

// Sigmoid(X) -> Mul(X, .) as Silu; HardSigmoid(X) -> Mul(X, .) as HardSwish.
std::optional<Fusion> gated(const Dataflow& df, int gate, const std::string& fused) {
  const auto& g = df.node(gate);
  if (g.input_size() != 1) return std::nullopt;
  if (fused == "HardSwish") {  // HardSwish is HardSigmoid with alpha 1/6, beta 0.5
    for (const auto& a : g.attribute()) {
      if (a.name() == "alpha" && std::abs(a.f() - 1.0f / 6) > 1e-6f) return std::nullopt;
      if (a.name() == "beta" && std::abs(a.f() - 0.5f) > 1e-6f) return std::nullopt;
    }
  }
  auto mul = df.only_reader(g.output(0), "Mul");
  if (!mul || other_input(df.node(*mul), g.output(0)) != g.input(0)) return std::nullopt;
  Fusion f;
  f.nodes = {gate, *mul};
  const std::string out = df.node(*mul).output(0);
  f.replacement = make_node(fused, g.name().empty() ? out : g.name(), {g.input(0)}, out);
  return f;
}

// Conv -> BatchNormalization (its only reader): the Conv writes the BN's output and takes
// the BN's shift as its bias, the form torch.onnx exports in eval mode.
std::optional<Fusion> conv_batchnorm(const Dataflow& df, int conv) {
  const auto& c = df.node(conv);
  if (c.output_size() != 1 || c.input_size() < 2) return std::nullopt;
  auto bn = df.only_reader(c.output(0), "BatchNormalization");
  if (!bn) return std::nullopt;
  const auto& b = df.node(*bn);
  if (b.input_size() != 5 || b.input(0) != c.output(0) || b.output_size() < 1) return std::nullopt;
  for (int k = 1; k < b.output_size(); ++k)
    if (!b.output(k).empty()) return std::nullopt;  // training mode: running stats are outputs
  for (int k = 1; k < 5; ++k)
    if (!df.is_constant(b.input(k))) return std::nullopt;
  Fusion f;
  f.nodes = {conv, *bn};
  f.replacement = c;
  f.replacement.clear_output();
  f.replacement.add_output(b.output(0));
  if (c.input_size() < 3 || c.input(2).empty()) {
    f.replacement.clear_input();
    f.replacement.add_input(c.input(0));
    f.replacement.add_input(c.input(1));
    f.replacement.add_input(b.input(2));  // the BN's bias has the output channels' shape
  }
  return f;
}

// MatMul(X, W) -> Add(bias), W a weight matrix and bias a vector over its columns: one linear
// layer, as torch.nn.Linear is one module (torch.onnx writes Gemm only for 2-D inputs).
std::optional<Fusion> linear(const Dataflow& df, const onnx::GraphProto& gp, int matmul) {
  const auto& m = df.node(matmul);
  if (m.input_size() != 2 || !df.is_constant(m.input(1))) return std::nullopt;
  auto add = df.only_reader(m.output(0), "Add");
  if (!add) return std::nullopt;
  auto bias = other_input(df.node(*add), m.output(0));
  if (!bias || !df.is_constant(*bias)) return std::nullopt;
  for (const auto& t : gp.initializer())
    if (t.name() == *bias && t.dims_size() != 1) return std::nullopt;
  Fusion f;
  f.nodes = {matmul, *add};
  f.replacement = make_node("MatMul", m.name().empty() ? df.node(*add).output(0) : m.name(),
                            {m.input(0), m.input(1), *bias}, df.node(*add).output(0));
  return f;
}

// A Pad by zero everywhere (Swin pads its windows only when the map is not a multiple).
std::optional<Fusion> zero_pad(const onnx::GraphProto& gp, const Dataflow& df, int pad) {
  const auto& p = df.node(pad);
  if (p.input_size() < 2 || p.output_size() != 1) return std::nullopt;
  auto pads = initializer_ints(gp, p.input(1));
  if (!pads || std::any_of(pads->begin(), pads->end(), [](long long v) { return v != 0; })) return std::nullopt;
  Fusion f;
  f.nodes = {pad};
  f.replacement = make_node("Identity", p.name(), {p.input(0)}, p.output(0));
  return f;
}

// Pad (zeros) -> AveragePool/MaxPool, the Pad read by nothing else: one pool with padding, as
// torch.fx sees F.avg_pool2d(padding=1) (torch.onnx writes the padding apart).
std::optional<Fusion> padded_pool(const Dataflow& df, int pad) {
  const auto& p = df.node(pad);
  if (p.input_size() < 1 || p.output_size() != 1) return std::nullopt;
  for (const auto& a : p.attribute())
    if (a.name() == "mode" && a.s() != "constant") return std::nullopt;
  auto pool = df.only_reader(p.output(0), "AveragePool");
  if (!pool) pool = df.only_reader(p.output(0), "MaxPool");
  if (!pool) return std::nullopt;
  Fusion f;
  f.nodes = {pad, *pool};
  f.replacement = df.node(*pool);
  f.replacement.set_input(0, p.input(0));
  return f;
}

}  // namespace

int fuse_composites(onnx::GraphProto& gp, const FuseOptions& options) {
  const Dataflow df(gp);
  std::vector<Fusion> fusions;
  std::set<int> taken;
  auto accept = [&](std::optional<Fusion> f) {
    if (!f) return;
    for (int k : f->nodes)
      if (taken.count(k)) return;
    taken.insert(f->nodes.begin(), f->nodes.end());
    fusions.push_back(std::move(*f));
  };
  for (int k = 0; k < gp.node_size(); ++k) {
    const std::string& op = gp.node(k).op_type();
    if (!gp.node(k).domain().empty() && gp.node(k).domain() != "ai.onnx") continue;
    if (op == "ReduceMean") accept(layer_norm(df, k));
    if (op == "Erf") accept(gelu(df, k));
    if (op == "Sigmoid") accept(gated(df, k, "Silu"));
    if (op == "HardSigmoid") accept(gated(df, k, "HardSwish"));
    if (op == "Conv" && options.batchnorm) accept(conv_batchnorm(df, k));
    if (op == "MatMul") accept(linear(df, gp, k));
    if (op == "Pad") accept(zero_pad(gp, df, k));
    if (op == "Pad") accept(padded_pool(df, k));
  }
  if (fusions.empty()) return 0;
  // The fused node takes the place of the last node it replaces: all its inputs are written
  // before that, so the order stays topological.
  std::map<int, const onnx::NodeProto*> placed;
  int removed = 0;
  for (const auto& f : fusions) {
    int last = f.nodes.front();
    for (int k : f.nodes) last = std::max(last, k);
    placed[last] = &f.replacement;
    removed += static_cast<int>(f.nodes.size()) - 1;
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int k = 0; k < gp.node_size(); ++k) {
    if (auto it = placed.find(k); it != placed.end())
      *nodes.Add() = *it->second;
    else if (!taken.count(k))
      *nodes.Add() = gp.node(k);
  }
  gp.mutable_node()->Swap(&nodes);
  return removed;
}

}  // namespace diviml::onnx_passes

namespace diviml::onnx_passes {
namespace {

bool is_linear(const Node& n) { return (n.op == "MatMul" || n.op == "Gemm") && n.param_bytes > 0; }
bool is_elementwise_on_scores(const Node& n) {
  return n.op == "Add" || n.op == "Sub" || n.op == "Mul" || n.op == "Div" || n.op == "Where";
}

}  // namespace

int fuse_attention(std::vector<Node>& nodes, std::map<std::pair<int, int>, double>& edge_bytes) {
  const int n = static_cast<int>(nodes.size());
  std::vector<std::vector<int>> preds(static_cast<size_t>(n)), succs(static_cast<size_t>(n));
  for (const auto& [pair, bytes] : edge_bytes) {
    preds[static_cast<size_t>(pair.second)].push_back(pair.first);
    succs[static_cast<size_t>(pair.first)].push_back(pair.second);
  }
  auto only = [](const std::vector<int>& v) { return v.size() == 1 ? v[0] : -1; };
  std::vector<int> group_of(static_cast<size_t>(n), -1);  // node -> the node it merges into
  std::vector<std::vector<int>> groups;
  for (int s = 0; s < n; ++s) {
    if (nodes[static_cast<size_t>(s)].op != "Softmax" || group_of[static_cast<size_t>(s)] >= 0) continue;
    std::vector<int> group = {s};
    // Back from the Softmax through elementwise ops with constant operands to the scores MatMul.
    int cur = only(preds[static_cast<size_t>(s)]);
    while (cur >= 0 && is_elementwise_on_scores(nodes[static_cast<size_t>(cur)]) &&
           preds[static_cast<size_t>(cur)].size() == 1 && succs[static_cast<size_t>(cur)].size() == 1) {
      group.push_back(cur);
      cur = only(preds[static_cast<size_t>(cur)]);
    }
    if (cur < 0 || nodes[static_cast<size_t>(cur)].op != "MatMul" || nodes[static_cast<size_t>(cur)].param_bytes > 0 ||
        succs[static_cast<size_t>(cur)].size() != 1)
      continue;
    const int scores = cur;
    group.push_back(scores);
    const int av = only(succs[static_cast<size_t>(s)]);
    if (av < 0 || nodes[static_cast<size_t>(av)].op != "MatMul" || nodes[static_cast<size_t>(av)].param_bytes > 0)
      continue;
    group.push_back(av);
    // A scale of Q read only by the scores.
    for (int p : preds[static_cast<size_t>(scores)]) {
      const Node& q = nodes[static_cast<size_t>(p)];
      if ((q.op == "Mul" || q.op == "Div") && preds[static_cast<size_t>(p)].size() == 1 &&
          succs[static_cast<size_t>(p)].size() == 1)
        group.push_back(p);
    }
    bool taken = false;
    for (int v : group) taken = taken || group_of[static_cast<size_t>(v)] >= 0;
    if (taken) continue;
    std::set<int> in_group(group.begin(), group.end());
    std::set<int> outside;
    for (int v : group)
      for (int p : preds[static_cast<size_t>(v)])
        if (!in_group.count(p)) outside.insert(p);
    std::string op = "Attention";
    // The input projection: the one producer of Q, K and V, read by nothing else.
    if (outside.size() == 1) {
      const int proj = *outside.begin();
      bool feeds_only_group = true;
      for (int c : succs[static_cast<size_t>(proj)]) feeds_only_group = feeds_only_group && in_group.count(c);
      const int out = only(succs[static_cast<size_t>(av)]);
      if (is_linear(nodes[static_cast<size_t>(proj)]) && feeds_only_group && out >= 0 &&
          is_linear(nodes[static_cast<size_t>(out)]) && preds[static_cast<size_t>(out)].size() == 1) {
        group.push_back(proj);
        group.push_back(out);
        op = "MultiHeadAttention";
      }
    }
    std::sort(group.begin(), group.end());
    const int head = group.back();  // the output side: every input of the group comes before it
    for (int v : group) group_of[static_cast<size_t>(v)] = head;
    nodes[static_cast<size_t>(head)].op = op;
    groups.push_back(group);
  }
  if (groups.empty()) return 0;
  // Merge each group into its last node.
  for (const auto& group : groups) {
    Node& m = nodes[static_cast<size_t>(group.back())];
    std::set<int> members(group.begin(), group.end());
    double flops = 0, params = 0, input = 0, in_bytes = 0, out_bytes = 0;
    for (int v : group) {
      const Node& x = nodes[static_cast<size_t>(v)];
      flops += x.flops.value_or(0);
      params += x.param_bytes;
      input += x.input_bytes;
      for (int p : preds[static_cast<size_t>(v)])
        if (!members.count(p)) in_bytes += edge_bytes.at({p, v});
      bool leaves = succs[static_cast<size_t>(v)].empty();
      for (int c : succs[static_cast<size_t>(v)]) leaves = leaves || !members.count(c);
      if (leaves) out_bytes += x.output_bytes.value_or(0);
    }
    m.flops = flops;
    m.param_bytes = params;
    m.input_bytes = input;
    m.output_bytes = out_bytes;
    m.bytes_accessed = in_bytes + input + out_bytes + params;
  }
  // Renumber: merged nodes go, edges point to their group's last node.
  std::vector<int> index(static_cast<size_t>(n), -1);
  std::vector<Node> kept;
  for (int v = 0; v < n; ++v) {
    const int g = group_of[static_cast<size_t>(v)];
    if (g >= 0 && g != v) continue;
    index[static_cast<size_t>(v)] = static_cast<int>(kept.size());
    kept.push_back(std::move(nodes[static_cast<size_t>(v)]));
  }
  auto target = [&](int v) {
    const int g = group_of[static_cast<size_t>(v)];
    return index[static_cast<size_t>(g >= 0 ? g : v)];
  };
  std::map<std::pair<int, int>, double> edges;
  for (const auto& [pair, bytes] : edge_bytes) {
    const int a = target(pair.first), b = target(pair.second);
    if (a != b) edges[{a, b}] += bytes;
  }
  const int removed = n - static_cast<int>(kept.size());
  nodes = std::move(kept);
  edge_bytes = std::move(edges);
  return removed;
}

}  // namespace diviml::onnx_passes
