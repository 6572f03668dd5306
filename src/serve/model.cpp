// The serving cost model: GPU classes, tensor-parallel groups and the per-GPU cost of a pass's
// ops on a group (docs/serving.md, "Cost model").
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "serve_model.hpp"

namespace diviml {

const char* to_string(ServeRole role) {
  switch (role) {
    case ServeRole::kColocated:
      return "colocated";
    case ServeRole::kPrefill:
      return "prefill";
    case ServeRole::kDecode:
      return "decode";
  }
  return "?";
}

namespace {

enum class TpRole { kColumn, kRow, kSplit, kWhole, kAllReduce };

TpRole tp_role(const Node& node) {
  const size_t dot = node.id.rfind('.');
  const std::string part = dot == std::string::npos ? node.id : node.id.substr(dot + 1);
  if (node.op == "allreduce") return TpRole::kAllReduce;
  if (part == "qkv" || part == "mlp_up" || part == "mlp_gate" || part == "lm_head") return TpRole::kColumn;
  if (part == "proj" || part == "mlp_down") return TpRole::kRow;
  if (part == "scores" || part == "softmax" || part == "attn_v" || part == "gelu" || part == "swiglu")
    return TpRole::kSplit;
  return TpRole::kWhole;
}

// Per GPU: (flops, bytes accessed, activation bytes read and written) of `node` under tp.
struct Share {
  double flops = 0, bytes = 0, io = 0;
};

Share tp_share(const Node& node, double input_bytes, int tp) {
  const double t = tp, flops = node.flops.value_or(0), bytes = node.bytes_accessed.value_or(0);
  const double params = node.param_bytes;
  const double in = std::clamp(input_bytes, 0.0, std::max(0.0, bytes - params));
  const double out = std::clamp(node.output_bytes.value_or(0), 0.0, std::max(0.0, bytes - params - in));
  switch (tp_role(node)) {
    case TpRole::kColumn:
      return {flops / t, (bytes - in) / t + in, in + out / t};
    case TpRole::kRow:
      return {flops / t, (bytes - out) / t + out, in / t + out};
    case TpRole::kSplit:
      return {flops / t, bytes / t, (in + out) / t};
    case TpRole::kAllReduce:
      return {0, 0, 2 * node.output_bytes.value_or(0)};
    case TpRole::kWhole:
      break;
  }
  return {flops, bytes, in + out};
}

bool names_gpu(const std::string& kind) {
  std::string k = kind;
  for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return k.find("gpu") != std::string::npos;
}

}  // namespace

double tensor_parallel_op_us(const Node& node, double input_bytes, int tp, const Device& gpu, const Link& intra) {
  if (tp_role(node) == TpRole::kAllReduce) {
    if (tp <= 1) return 0.0;
    const double t = tp, bytes = node.output_bytes.value_or(0);
    return 2 * (t - 1) / t * bytes / (intra.bandwidth_gbps * 1e3) + 2 * (t - 1) * intra.latency_us +
           gpu.launch_overhead_us;
  }
  const Share s = tp_share(node, input_bytes, tp);
  double us = 0;
  if (s.flops > 0) us = std::max(us, s.flops / (gpu.peak_gflops.value_or(0) * 1e3));
  if (s.bytes > 0) us = std::max(us, s.bytes / (gpu.mem_bandwidth_gbps.value_or(0) * 1e3));
  return us + gpu.launch_overhead_us;
}

namespace serve_detail {

double node_us(const Graph& graph, int node, int tp, const GpuClass& cls) {
  double in = 0;
  for (int e : graph.in_edges(node)) in += graph.edges[e].bytes;
  return tensor_parallel_op_us(graph.nodes[node], in, tp, cls.spec, cls.intra);
}

std::vector<int> Model::gpus(const Group& g) const {
  const auto& all = classes[g.cls].gpus;
  return {all.begin() + g.index * g.tp, all.begin() + (g.index + 1) * g.tp};
}

double Model::capacity_bytes(int cls) const {
  return classes[cls].spec.memory_bytes.value_or(0) * request->memory_fraction;
}

const Graph& Model::layer_graph(const Pass& pass) {
  auto it = graphs_.find(pass);
  if (it != graphs_.end()) return it->second;
  TransformerSpec s = request->model;
  s.layers = 1, s.batch = pass.batch, s.seq = pass.seq, s.context = pass.context;
  s.split_heads = false, s.last_logits_only = true, s.cache_positions = 0, s.cache_batch = 0;
  s.allreduce_us = {{"tensor-parallel", 0.0}};  // the all-reduce nodes; costed here, per group
  Result<Graph> g = transformer(s);
  // The request was checked with this very spec (Model::build): a failure here is ours.
  if (!g) g = Graph{};
  return graphs_.emplace(pass, std::move(*g)).first->second;
}

const PassCost& Model::cost(int cls, int tp, const Pass& pass) {
  const auto key = std::make_tuple(cls, tp, pass);
  auto it = costs_.find(key);
  if (it != costs_.end()) return it->second;
  ++cost_evaluations;
  const Graph& g = layer_graph(pass);
  PassCost c;
  double max_io = 0;
  for (int v = 0; v < g.num_nodes(); ++v) {
    const Node& node = g.nodes[v];
    const double us = node_us(g, v, tp, classes[cls]);
    if (node.id.rfind("l0.", 0) == 0)
      c.layer_us += us;
    else if (node.id == "embed")
      c.embed_us += us;
    else
      c.head_us += us;
    double in = 0;
    for (int e : g.in_edges(v)) in += g.edges[e].bytes;
    max_io = std::max(max_io, tp_share(node, in, tp).io);
    if (node.id == "l0.add2") c.act_bytes = node.output_bytes.value_or(0);
    if (node.id == "embed") c.host_in_bytes = node.input_bytes;
    if (node.id == "lm_head") c.host_out_bytes = node.output_bytes.value_or(0);
  }
  // One micro-batch computing while the next one's input arrives: twice the largest op's
  // activations on a GPU.
  c.live_bytes = 2 * max_io;
  return costs_.emplace(key, c).first->second;
}

Result<Model> Model::build(const Platform& platform, const ServeRequest& r) {
  auto positive = [](double x, double most) { return std::isfinite(x) && x > 0 && x <= most; };
  if (!positive(r.ttft_ms, 1e9)) return usage_error("--ttft-ms must be a positive number of milliseconds, at most 1e9");
  if (!positive(r.tpot_ms, 1e9)) return usage_error("--tpot-ms must be a positive number of milliseconds, at most 1e9");
  if (r.prompt < 1 || r.prompt > 1000000) return usage_error("--prompt must be a whole number of tokens from 1 to 1e6");
  if (r.output < 2 || r.output > 1000000)
    return usage_error("--output must be a whole number of tokens from 2 to 1e6 (the first comes from the prefill)");
  if (!(r.memory_fraction > 0 && r.memory_fraction <= 1)) return usage_error("--memory-fraction must be in (0, 1]");
  if (!positive(r.time_limit_s, 1e6))
    return usage_error("--time-limit must be a positive number of seconds, at most 1e6");
  if (r.mode != "auto" && r.mode != "colocated" && r.mode != "disaggregated")
    return usage_error("--mode '" + r.mode + "' is not one of auto, colocated, disaggregated");
  {
    TransformerSpec s = r.model;
    s.layers = 1, s.batch = 1, s.seq = 1, s.context = r.prompt + r.output;
    if (Result<Graph> g = transformer(s); !g) return usage_error(g.error().message);
    if (r.model.layers < 1 || r.model.layers > 10000) return usage_error("transformer: --layers must be in [1, 10000]");
  }
  Model m;
  m.platform = &platform;
  m.request = &r;
  m.layers = r.model.layers;
  m.context = std::max(0, r.prompt + r.output / 2 - 1);
  const int kv_heads = r.model.kv_heads > 0 ? r.model.kv_heads : r.model.heads;
  for (int d = 0; d < platform.num_devices(); ++d) {
    const Device& dev = platform.devices[d];
    if (!names_gpu(dev.kind)) continue;
    if (!dev.peak_gflops || !dev.mem_bandwidth_gbps || !dev.memory_bytes)
      return fail("platform '" + platform.name + "': device '" + dev.name +
                  "' is a GPU without peak_gflops, mem_bandwidth_gbps or memory_bytes, which serving needs");
    auto same = [&](const GpuClass& c) {
      return c.server == dev.server && c.kind == dev.kind && c.spec.peak_gflops == dev.peak_gflops &&
             c.spec.mem_bandwidth_gbps == dev.mem_bandwidth_gbps && c.spec.memory_bytes == dev.memory_bytes &&
             c.spec.launch_overhead_us == dev.launch_overhead_us;
    };
    auto it = std::find_if(m.classes.begin(), m.classes.end(), same);
    if (it == m.classes.end()) {
      GpuClass c;
      c.server = dev.server, c.kind = dev.kind, c.spec = dev;
      m.classes.push_back(c);
      it = m.classes.end() - 1;
    }
    it->gpus.push_back(d);
  }
  if (m.classes.empty())
    return fail("platform '" + platform.name + "' has no GPUs to serve on (no device's kind names a gpu)");
  for (GpuClass& c : m.classes) {
    bool linked = true;
    Link slowest{0, kInf};
    for (size_t i = 0; i < c.gpus.size(); ++i)
      for (size_t j = 0; j < c.gpus.size(); ++j) {
        if (i == j) continue;
        auto l = platform.link(c.gpus[i], c.gpus[j]);
        if (!l) {
          linked = false;
          continue;
        }
        slowest.latency_us = std::max(slowest.latency_us, l->latency_us);
        slowest.bandwidth_gbps = std::min(slowest.bandwidth_gbps, l->bandwidth_gbps);
      }
    c.intra = slowest;
    for (int t = 1; t <= static_cast<int>(c.gpus.size()); t *= 2) {
      if (t > 1 && (!linked || r.model.heads % t != 0 || kv_heads % t != 0)) break;
      c.tps.push_back(t);
    }
  }
  for (int c = 0; c < static_cast<int>(m.classes.size()); ++c) {
    const GpuClass& x = m.classes[c];
    auto same = [&](const std::vector<int>& model) {
      const GpuClass& y = m.classes[model.front()];
      return y.kind == x.kind && y.spec.peak_gflops == x.spec.peak_gflops &&
             y.spec.mem_bandwidth_gbps == x.spec.mem_bandwidth_gbps && y.spec.memory_bytes == x.spec.memory_bytes;
    };
    auto it = std::find_if(m.models.begin(), m.models.end(), same);
    if (it == m.models.end())
      m.models.push_back({c});
    else
      it->push_back(c);
  }
  // Weights and the KV cache per token, from the ops themselves.
  const Graph& g = m.layer_graph(m.decode_pass(1));
  for (const Node& v : g.nodes) {
    if (v.id.rfind("l0.", 0) == 0)
      m.layer_weight_bytes += v.param_bytes;
    else if (v.id == "embed")
      m.embed_weight_bytes += v.param_bytes;
    else
      m.head_weight_bytes += v.param_bytes;
  }
  const double dh = static_cast<double>(r.model.d_model) / r.model.heads;
  m.kv_token_layer_bytes = 2 * dh * kv_heads * r.model.bytes_per_value;
  double memory = 0;
  for (size_t c = 0; c < m.classes.size(); ++c)
    memory += m.capacity_bytes(static_cast<int>(c)) * m.classes[c].gpus.size();
  if (memory < m.weights_bytes()) {
    char b[256];
    std::snprintf(b, sizeof b, "the model's weights (%.1f GB) do not fit in the %.1f GB that the GPUs of platform '",
                  m.weights_bytes() / 1e9, memory / 1e9);
    char f[64];
    std::snprintf(f, sizeof f, "' offer at --memory-fraction %g", r.memory_fraction);
    return infeasible(b + platform.name + f);
  }
  return m;
}

}  // namespace serve_detail
}  // namespace diviml
