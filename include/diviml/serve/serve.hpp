// Serving a decoder LLM on a GPU fleet (docs/serving.md): the layout with the most output tokens
// per second that meets a time-to-first-token (TTFT) and a time-per-output-token (TPOT)
// objective, with a proven upper bound and three baselines in the same cost model.
//
// A layout is a set of pipelines. A pipeline is a chain of stages; a stage is a tensor-parallel
// group of `tp` identical GPUs of one server (tp a power of two dividing the heads and the KV
// heads) running a run of consecutive layers (the first stage also the embedding, the last the
// final norm and LM head). A pipeline serves requests whole (colocated: it prefills and decodes,
// a prefill pausing the decode steps) or one phase of them (prefill, or decode: the prompts' KV
// caches move from prefill pipelines to decode pipelines, as DistServe does). A decode pipeline
// keeps `batch` sequences, each with room in its KV cache for prompt + output tokens, in
// `micro_batches` micro-batches in flight.
//
// @code
//   diviml::ServeRequest req;
//   req.model = *diviml::transformer_preset("llama2-70b");
//   req.prompt = 2048, req.output = 256, req.ttft_ms = 5000, req.tpot_ms = 100;
//   diviml::Result<diviml::ServeResult> r = diviml::plan_serving(platform, req);
//   std::printf("%.0f tokens/s, bound %.0f\n", r->layout.tokens_per_s, r->bound_tokens_per_s);
// @endcode
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "diviml/cost/problem.hpp"
#include "diviml/graph/generators.hpp"
#include "diviml/objective/plan.hpp"
#include "diviml/platform/platform.hpp"

namespace diviml {

struct ServeRequest {
  TransformerSpec model;         // shapes; its batch, seq and context are decided here
  std::string model_name;        // a preset's name, or a description of the shape
  int prompt = 2048;             // tokens of every prompt
  int output = 256;              // tokens generated per request (the first by the prefill)
  double ttft_ms = 5000;         // objective on the time to the first token
  double tpot_ms = 100;          // objective on the mean time per output token after the first
  double memory_fraction = 0.9;  // of each GPU's memory the server uses (vLLM's default)
  double time_limit_s = 20;      // the search's budget (the result comes back within it + ~10%)
  std::string mode = "auto";     // "auto", "colocated" or "disaggregated"
  std::uint64_t seed = 1;
  // Called about once a second during the search with a one-line status (optional).
  std::function<void(const std::string&)> progress = {};
};

enum class ServeRole { kColocated, kPrefill, kDecode };
const char* to_string(ServeRole role);

struct ServeStage {
  std::string server;
  std::string kind;          // the GPUs' kind
  int tp = 1;                // GPUs in the tensor-parallel group
  std::vector<int> devices;  // platform device indices (tp of them)
  int first_layer = 0;       // layers [first_layer, first_layer + layers)
  int layers = 0;
  bool embed = false, head = false;  // holds the embedding / the final norm and LM head
  // Per GPU of the stage, bytes.
  double weights_bytes = 0, kv_bytes = 0, activation_bytes = 0, capacity_bytes = 0;
  double decode_us = 0;   // one decode micro-batch (0 for a prefill pipeline)
  double prefill_us = 0;  // one prefill batch (0 for a decode pipeline)
};

struct ServePipeline {
  ServeRole role = ServeRole::kColocated;
  std::vector<ServeStage> stages;
  int batch = 0;          // sequences decoding (KV cache for prompt + output each)
  int micro_batches = 0;  // decode micro-batches in flight (batch / micro_batches each)
  int prefill_batch = 0;  // prompts per prefill pass
  // Decode: one micro-batch's step through every stage, and the busiest resource per micro-batch.
  double decode_step_us = 0, decode_period_us = 0;
  // Prefill: one prefill batch's time through every stage, and the time between batches.
  double prefill_latency_us = 0, prefill_period_us = 0;
  double kv_send_us = 0;      // prefill pipelines: the slowest stage's KV copy per batch
  double tpot_us = 0;         // mean time per output token after the first (colocated: with prefill pauses)
  double ttft_us = 0;         // time to the first token
  double requests_per_s = 0;  // requests it completes (colocated), prefills (prefill) or absorbs (decode)
  double tokens_per_s = 0;    // output tokens per second of those requests
};

struct ServeLayout {
  std::string name;  // "diviml" or a baseline's name
  std::vector<ServePipeline> pipelines;
  double requests_per_s = 0;
  double tokens_per_s = 0;          // output tokens per second of the whole layout
  double ttft_us = 0, tpot_us = 0;  // the worst over its pipelines
  int batch = 0;                    // sequences decoding in all pipelines
  std::string note;                 // why a baseline has no layout, or what it is
};

// One pass of a pipeline as a problem (its graph on the serving platform) and plan: `decode` (one micro-batch's
// step, a throughput plan paced at the decode iteration over the micro-batches: its period times
// micro_batches is the iteration, its latency one step) or `prefill` (one prefill batch: a
// throughput plan for a prefill pipeline, a latency plan for a colocated one). Every node carries
// its per-GPU cost on its group (cost_us); the KV cache the pipeline keeps is state where the QKV
// projections run, so the plan's memory check is the layout's.
struct ServePass {
  std::string phase;  // "decode" or "prefill"
  int pipeline = 0;
  Problem problem;  // problem.graph() is the pass's graph
  Plan plan;
};

struct ServeResult {
  ServeLayout layout;                  // the best found (its figures are its plans' replays)
  std::vector<ServeLayout> baselines;  // homogeneous, uniform-pipeline, helix-like
  double bound_tokens_per_s = 0;       // proven: no layout of the model does better
  double solve_time_s = 0;
  long evaluations = 0;           // pipelines evaluated by the search
  int context = 0;                // decode steps are costed at this mean cached context
  double weights_bytes = 0;       // the model's
  double kv_bytes_per_token = 0;  // every layer's keys and values of one token
  Platform serving;               // serving_platform() of the layout
  std::vector<ServePass> passes;  // per pipeline: its decode step and its prefill pass
};

// The search, its baselines and its bound. Usage errors name the field (an SLO of 0 or NaN, a
// prompt of 0, a mode that does not exist); a platform without GPUs, or without the memory for
// one copy of the weights, is an input error naming it; when no layout meets the SLOs the error is
// kInfeasible and says the least TTFT and TPOT found.
Result<ServeResult> plan_serving(const Platform& platform, const ServeRequest& request);

// --- What `diviml serve` writes (docs/serving.md, "Files") -------------------------------------

// The platform a layout's plans run on: the host, then one device per tensor-parallel group
// (named LEADER.tpT after its first GPU; peak, bandwidth and memory of its tp GPUs together, memory times
// memory_fraction), linked as their first GPUs are.
Platform serving_platform(const Platform& platform, const ServeRequest& request, const ServeLayout& layout);

// Per GPU of the platform: what the layout keeps there.
struct ServeDeviceMemory {
  int device = -1;
  int pipeline = -1, stage = -1;  // -1: unused
  double weights_bytes = 0, kv_bytes = 0, activation_bytes = 0, capacity_bytes = 0;
};
std::vector<ServeDeviceMemory> serving_memory(const ServeLayout& layout);

// The cost of one op of a pass on one GPU of a tensor-parallel group of `tp` (docs/serving.md),
// `input_bytes` being the activations it reads (its in-edges' bytes; the op's weights and its
// KV-cache reads are in its bytes_accessed beyond them). The role comes from the id's last part:
// column-parallel projections (qkv, mlp_gate, mlp_up, lm_head) read all of their input, 1/tp of
// their weights and write 1/tp of their output; row-parallel ones (proj, mlp_down) read 1/tp of
// their input and weights and write all of their output; attention (scores, softmax, attn_v) and
// the activation are split by heads and columns; norms, adds and the embedding run whole on every
// GPU; an all-reduce costs the ring's 2 (tp-1)/tp x bytes / bandwidth + 2 (tp-1) x latency over
// `intra`. Roofline per GPU (the greater of FLOPs over peak and bytes over bandwidth) plus the
// launch overhead; an all-reduce of a group of one costs nothing.
double tensor_parallel_op_us(const Node& node, double input_bytes, int tp, const Device& gpu, const Link& intra);

}  // namespace diviml
