// Internal to src/serve: the fleet (GPU classes and tensor-parallel groups), the per-layer cost
// model of a pass on a group, and the evaluation of pipelines and layouts. docs/serving.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "diviml/serve/serve.hpp"

namespace diviml::serve_detail {

// The identical GPUs of one kind in one server: what a tensor-parallel group is drawn from.
struct GpuClass {
  std::string server, kind;
  std::vector<int> gpus;  // platform device indices
  Device spec;            // the first GPU's
  Link intra;             // the slowest link between two of them (all-reduces); unused when one GPU
  std::vector<int> tps;   // tensor-parallel degrees allowed (powers of two)
};

// A tensor-parallel group: GPUs [index * tp, (index + 1) * tp) of its class.
struct Group {
  int cls = -1, tp = 1, index = 0;
  bool operator==(const Group& o) const { return cls == o.cls && tp == o.tp && index == o.index; }
  bool operator<(const Group& o) const { return std::tie(cls, tp, index) < std::tie(o.cls, o.tp, o.index); }
};

// One pass: `batch` sequences of `seq` new tokens after `context` cached positions.
struct Pass {
  int batch = 1, seq = 1, context = 0;
  bool operator<(const Pass& o) const { return std::tie(batch, seq, context) < std::tie(o.batch, o.seq, o.context); }
};

// A pass on one GPU of a group (every GPU of a group takes the same time).
struct PassCost {
  double layer_us = 0;        // one decoder block (all-reduces included)
  double embed_us = 0;        // the first stage's extra
  double head_us = 0;         // the last stage's extra (final norm, LM head)
  double act_bytes = 0;       // the activation between stages
  double host_in_bytes = 0;   // token ids from the host
  double host_out_bytes = 0;  // sampled tokens back to it
  double live_bytes = 0;      // activations a GPU holds at once (per GPU, estimate)
};

class Model {
 public:
  static Result<Model> build(const Platform& platform, const ServeRequest& request);

  const Platform* platform = nullptr;
  const ServeRequest* request = nullptr;
  std::vector<GpuClass> classes;
  // Classes of one GPU model (kind, peak, bandwidth, memory), in the order of their first class:
  // on a cluster of one GPU per machine every machine is a class of its own.
  std::vector<std::vector<int>> models;
  int layers = 0;
  int context = 0;  // decode steps are costed at the mean cached context
  double layer_weight_bytes = 0, embed_weight_bytes = 0, head_weight_bytes = 0;
  double kv_token_layer_bytes = 0;  // keys and values of one token in one layer
  double weights_bytes() const { return layers * layer_weight_bytes + embed_weight_bytes + head_weight_bytes; }
  double kv_sequence_layer_bytes() const { return kv_token_layer_bytes * (request->prompt + request->output); }

  const PassCost& cost(int cls, int tp, const Pass& pass);
  Pass decode_pass(int micro_batch) const { return Pass{micro_batch, 1, context}; }
  Pass prefill_pass(int prompts) const { return Pass{prompts, request->prompt, 0}; }

  int leader(const Group& g) const { return classes[g.cls].gpus[g.index * g.tp]; }
  std::vector<int> gpus(const Group& g) const;
  int groups_of(int cls, int tp) const { return static_cast<int>(classes[cls].gpus.size()) / tp; }
  // Per GPU of the class: the memory a server may use.
  double capacity_bytes(int cls) const;
  double link_us(int from, int to, double bytes) const { return platform->transfer_us(from, to, bytes); }

  // The one-layer graph of a pass (its ops: l0.*, embed, ln_f, lm_head), cached.
  const Graph& layer_graph(const Pass& pass);
  long cost_evaluations = 0;

 private:
  std::map<Pass, Graph> graphs_;
  std::map<std::tuple<int, int, Pass>, PassCost> costs_;
};

// The per-GPU cost of each node of `graph` on a group (tensor_parallel_op_us with its in-edges).
double node_us(const Graph& graph, int node, int tp, const GpuClass& cls);

// The prompts a prefill pipeline, and a colocated one (each pass pauses its decode steps),
// prefills at once: the bound (bound.cpp) takes the least time per prompt over them.
inline constexpr int kPrefillBatches[] = {1, 2, 4, 8};
inline constexpr int kColocatedPrefillBatches[] = {1, 2, 4};

// A pipeline to evaluate: its role, its groups in order, and (baselines) fixed layers per group.
struct PipelineSpec {
  ServeRole role = ServeRole::kColocated;
  std::vector<Group> groups;
  std::vector<int> fixed_layers = {};  // empty: the search splits the layers
};

// The best batch, micro-batches and layer split of one pipeline under the SLOs (decode and
// colocated: the most tokens per second; prefill: the most prompts per second within the TTFT).
// Nothing when none meets them; `least_tpot_us` / `least_ttft_us` then say the least found.
struct PipelineOutcome {
  std::optional<ServePipeline> pipeline;
  double least_tpot_us = kInf, least_ttft_us = kInf;
};
PipelineOutcome evaluate_pipeline(Model& model, const PipelineSpec& spec);

// The layout's rates: colocated pipelines serve on their own; prefill pipelines feed decode
// pipelines (their KV copies priced on the slowest link to a decode group), the pair serving
// min(prefill rate, decode rate). Pipelines are kept as given.
ServeLayout combine(Model& model, std::vector<ServePipeline> pipelines, const std::string& name);

// The three baselines (docs/serving.md, "Baselines").
std::vector<ServeLayout> baselines(Model& model);
// The search: the layout with the most tokens per second it finds within the time limit,
// started from `seeds` (the baselines' layouts among them). `evaluations` counts pipelines.
ServeLayout search_layout(Model& model, const std::vector<ServeLayout>& seeds, double time_limit_s, long* evaluations,
                          double* least_tpot_us, double* least_ttft_us);
// The proven upper bound on output tokens per second (docs/serving.md, "The bound").
double tokens_bound(Model& model);
// Its four parts (each a bound on its own; tokens_bound is the least): the fluid prefill/decode
// bound, the same with the TPOT, the TPOT-and-KV bound, and pipelines as units.
struct BoundParts {
  double fluid = kInf, fluid_tpot = kInf, tpot_memory = kInf, pipelines = kInf;
};
BoundParts bound_parts(Model& model);

// The groups of a layout's pipeline, recovered from its stages.
std::vector<Group> groups_of(const Model& model, const ServePipeline& p);

// A pipeline's TPOT, TTFT and rates from its four timings (decode step and period, prefill
// latency and period): what evaluate computes, again after the plans' replays.
void settle(const ServeRequest& request, ServePipeline& p);

// Realisation (realize.cpp): the serving platform's device of each stage of each pipeline, a
// pass's graph costed per group, and the mapping of its nodes to their stages' devices.
std::vector<std::vector<int>> stage_devices(const ServeLayout& layout);
Result<Graph> pass_graph(Model& model, const Platform& serving, const ServePipeline& p, const std::vector<int>& devices,
                         bool decode);
Mapping pass_mapping(const Problem& problem, const std::vector<int>& devices);

}  // namespace diviml::serve_detail
