// A layout as files a user deploys and `diviml validate` checks (docs/serving.md, "Files"): the
// platform of its tensor-parallel groups, and per pipeline the graph and plan of a decode step
// and of a prefill pass, replayed by the objectives (their figures are the layout's).
#include <algorithm>
#include <cmath>

#include "diviml/objective/objective.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/throughput.hpp"
#include "serve_model.hpp"

namespace diviml {
namespace {

std::string group_name(const Platform& platform, const ServeStage& st) {
  return platform.devices[st.devices.front()].name + ".tp" + std::to_string(st.tp);
}

}  // namespace

Platform serving_platform(const Platform& platform, const ServeRequest& request, const ServeLayout& layout) {
  Platform out;
  out.name = platform.name + "-serve";
  out.shared_server_links = platform.shared_server_links;
  out.devices.push_back(platform.devices[platform.host]);
  out.host = 0;
  std::vector<int> leader = {platform.host};
  for (const ServePipeline& p : layout.pipelines)
    for (const ServeStage& st : p.stages) {
      const Device& g = platform.devices[st.devices.front()];
      Device d = g;
      d.name = group_name(platform, st);
      d.kind = g.kind + "x" + std::to_string(st.tp);
      d.peak_gflops = *g.peak_gflops * st.tp;
      d.mem_bandwidth_gbps = *g.mem_bandwidth_gbps * st.tp;
      d.memory_bytes = *g.memory_bytes * st.tp * request.memory_fraction;
      out.devices.push_back(d);
      leader.push_back(st.devices.front());
    }
  const int n = static_cast<int>(leader.size());
  (void)out.finalize();  // names are unique (one group per leader GPU); sizes the link table
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < n; ++b) {
      if (a == b) continue;
      if (leader[a] == leader[b]) {
        out.set_link(a, b, Link{0, 1e12}, true);  // a host GPU that also leads a group
        continue;
      }
      if (auto l = platform.link(leader[a], leader[b])) out.set_link(a, b, *l, true);
    }
  return out;
}

std::vector<ServeDeviceMemory> serving_memory(const ServeLayout& layout) {
  std::vector<ServeDeviceMemory> out;
  for (size_t p = 0; p < layout.pipelines.size(); ++p)
    for (size_t s = 0; s < layout.pipelines[p].stages.size(); ++s) {
      const ServeStage& st = layout.pipelines[p].stages[s];
      for (int d : st.devices)
        out.push_back(ServeDeviceMemory{d, static_cast<int>(p), static_cast<int>(s), st.weights_bytes, st.kv_bytes,
                                        st.activation_bytes, st.capacity_bytes});
    }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.device < b.device; });
  return out;
}

namespace serve_detail {

// The serving platform's device of each stage of each pipeline (1 + running index).
std::vector<std::vector<int>> stage_devices(const ServeLayout& layout) {
  std::vector<std::vector<int>> out;
  int next = 1;
  for (const ServePipeline& p : layout.pipelines) {
    out.emplace_back();
    for (size_t s = 0; s < p.stages.size(); ++s) out.back().push_back(next++);
  }
  return out;
}

// The pass's graph with every node's per-GPU cost on its stage's group (and no other device).
Result<Graph> pass_graph(Model& m, const Platform& serving, const ServePipeline& p, const std::vector<int>& devices,
                         bool decode) {
  const ServeRequest& r = *m.request;
  TransformerSpec s = r.model;
  s.split_heads = false, s.last_logits_only = true;
  if (decode) {
    s.batch = p.batch / p.micro_batches, s.seq = 1, s.context = m.context;
    s.cache_positions = r.prompt + r.output, s.cache_batch = p.batch;
  } else {
    s.batch = p.prefill_batch, s.seq = r.prompt, s.context = 0;
    if (p.role == ServeRole::kColocated) {  // the prompt's KV goes into the slots the decode keeps
      s.cache_positions = r.prompt + r.output, s.cache_batch = p.batch;
    } else {
      s.cache_positions = r.prompt, s.cache_batch = 2 * p.prefill_batch;
    }
  }
  bool tp = false;
  for (const ServeStage& st : p.stages) tp = tp || st.tp > 1;
  if (tp) s.allreduce_us = {{"tensor-parallel", 0.0}};
  Result<Graph> g = transformer(s);
  if (!g) return g.error();
  const std::vector<Group> groups = groups_of(m, p);
  for (int v = 0; v < g->num_nodes(); ++v) {
    Node& node = g->nodes[v];
    int stage = static_cast<int>(p.stages.size()) - 1;
    if (node.id == "embed") {
      stage = 0;
    } else if (node.id.size() > 1 && node.id[0] == 'l' && std::isdigit(static_cast<unsigned char>(node.id[1]))) {
      const int layer = std::stoi(node.id.substr(1));
      for (size_t st = 0; st < p.stages.size(); ++st)
        if (layer >= p.stages[st].first_layer && layer < p.stages[st].first_layer + p.stages[st].layers)
          stage = static_cast<int>(st);
    }
    const double us = node_us(*g, v, groups[stage].tp, m.classes[groups[stage].cls]);
    node.cost_us.clear();
    for (int d = 0; d < serving.num_devices(); ++d)
      node.cost_us[serving.devices[d].name] = d == devices[stage] ? std::optional<double>(us) : std::nullopt;
  }
  return g;
}

Mapping pass_mapping(const Problem& problem, const std::vector<int>& devices) {
  const Graph& g = problem.graph();
  Mapping mp;
  mp.device.assign(g.num_nodes(), -1);
  mp.order.assign(problem.platform().num_devices(), {});
  for (int v = 0; v < g.num_nodes(); ++v)
    for (int d : devices)
      if (problem.can_run(v, d)) mp.device[v] = d;
  for (int v : g.topo_order()) mp.order[mp.device[v]].push_back(v);
  return mp;
}

}  // namespace serve_detail
}  // namespace diviml
