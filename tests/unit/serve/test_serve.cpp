// Serving (src/serve): the tensor-parallel cost by hand, the KV cache by hand, a tiny fleet whose
// best layout is found by enumerating every layout, the bound against that enumeration, and the
// written plans against the validator.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>

#include "diviml/io/json_io.hpp"
#include "diviml/objective/objective.hpp"
#include "diviml/serve/serve.hpp"
#include "serve/serve_model.hpp"
#include "support/serve_layouts.hpp"

namespace diviml {
namespace {

using serve_detail::Model;

// Two servers: a pair of identical GPUs on a fast link, and one slower GPU; a host CPU.
Platform tiny_fleet() {
  const std::string text = R"({
    "format": "diviml.platform/1", "name": "tiny-fleet", "host": "cpu",
    "devices": [
      {"name": "cpu", "kind": "cpu", "peak_gflops": 1000, "mem_bandwidth_gbps": 100, "server": "a"},
      {"name": "a.g0", "kind": "gpu-big", "peak_gflops": 100000, "mem_bandwidth_gbps": 1000,
       "memory_bytes": 2e9, "launch_overhead_us": 5, "server": "a"},
      {"name": "a.g1", "kind": "gpu-big", "peak_gflops": 100000, "mem_bandwidth_gbps": 1000,
       "memory_bytes": 2e9, "launch_overhead_us": 5, "server": "a"},
      {"name": "b.g0", "kind": "gpu-small", "peak_gflops": 30000, "mem_bandwidth_gbps": 300,
       "memory_bytes": 1.5e9, "launch_overhead_us": 5, "server": "b"}],
    "links": [
      {"a": "a.g0", "b": "a.g1", "latency_us": 3, "bandwidth_gbps": 100},
      {"a": "cpu", "b": "a.g0", "latency_us": 10, "bandwidth_gbps": 20},
      {"a": "cpu", "b": "a.g1", "latency_us": 10, "bandwidth_gbps": 20},
      {"a": "cpu", "b": "b.g0", "latency_us": 20, "bandwidth_gbps": 5},
      {"a": "a.g0", "b": "b.g0", "latency_us": 20, "bandwidth_gbps": 5},
      {"a": "a.g1", "b": "b.g0", "latency_us": 20, "bandwidth_gbps": 5}]})";
  Result<Platform> p = parse_platform(text, "tiny-fleet");
  EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message);
  return *p;
}

TransformerSpec tiny_model() {
  TransformerSpec s;
  s.layers = 4, s.d_model = 1024, s.heads = 16, s.kv_heads = 4, s.ffn = 2816, s.vocab = 32000;
  s.learned_positions = false;
  return s;
}

TEST(TensorParallel, TwoGpuLayerByHand) {
  // One GPT block (d 1024, 16 heads, GELU MLP of 4d) over 4 x 64 tokens, fp16, split over two GPUs of
  // 100 TFLOP/s and 1000 GB/s (launch 5 us) on a 100 GB/s, 3 us link.
  TransformerSpec s;
  s.layers = 1, s.d_model = 1024, s.heads = 16, s.seq = 64, s.batch = 4;
  s.allreduce_us = {{"group", 0.0}};
  Result<Graph> g = transformer(s);
  ASSERT_TRUE(g.has_value());
  Device gpu;
  gpu.peak_gflops = 1e5, gpu.mem_bandwidth_gbps = 1000, gpu.launch_overhead_us = 5;
  Link link{3, 100};
  const double T = 256, D = 1024, B = 2;
  auto roofline = [](double flops, double bytes) { return std::max(flops / 1e8, bytes / 1e6) + 5; };
  // Column-parallel (each GPU: all of the input, half the weights and outputs); row-parallel
  // (half the input and weights, all of the output); the ring all-reduce of the activation.
  auto column = [&](double in, double out) {
    return roofline(2 * T * in * out / 2, T * in * B + (in * out + out) * B / 2 + T * out * B / 2);
  };
  auto row = [&](double in, double out) {
    return roofline(2 * T * in * out / 2, T * in * B / 2 + (in * out + out) * B / 2 + T * out * B);
  };
  const double allreduce = 2.0 * (2 - 1) / 2 * (T * D * B) / 1e5 + 2 * (2 - 1) * 3 + 5;
  const std::map<std::string, double> by_hand = {{"l0.qkv", column(D, 3 * D)},     {"l0.proj", row(D, D)},
                                                 {"l0.mlp_up", column(D, 4 * D)},  {"l0.mlp_down", row(4 * D, D)},
                                                 {"l0.allreduce_attn", allreduce}, {"l0.allreduce_mlp", allreduce}};
  double total = 0, total_by_hand = 0;
  for (int v = 0; v < g->num_nodes(); ++v) {
    const Node& n = g->nodes[v];
    if (n.id.rfind("l0.", 0) != 0) continue;
    double in = 0;
    for (int e : g->in_edges(v)) in += g->edges[e].bytes;
    const double us = tensor_parallel_op_us(n, in, 2, gpu, link);
    total += us;
    auto it = by_hand.find(n.id);
    if (it != by_hand.end()) {
      EXPECT_NEAR(us, it->second, 1e-9 * it->second) << n.id;
      total_by_hand += it->second;
      continue;
    }
    // Attention and the activation split by heads and columns; norms and adds run whole.
    const bool split = n.id == "l0.scores" || n.id == "l0.softmax" || n.id == "l0.attn_v" || n.id == "l0.gelu";
    const double k = split ? 2 : 1;
    const double expected = roofline(*n.flops / k, *n.bytes_accessed / k);
    EXPECT_NEAR(us, expected, 1e-9 * expected) << n.id;
    total_by_hand += expected;
  }
  EXPECT_NEAR(total, total_by_hand, 1e-9 * total);
  // A group of one pays no all-reduce; on one GPU the matmuls read all of their weights.
  for (const Node& n : g->nodes)
    if (n.op == "allreduce") {
      EXPECT_EQ(tensor_parallel_op_us(n, T * D * B, 1, gpu, link), 0.0);
    }
}

TEST(Serve, KvCacheByHand) {
  // LLaMA-2-70B keeps 2 (K and V) x 80 layers x 8 KV heads x 128 dims x 2 bytes per token.
  Result<TransformerSpec> llama = transformer_preset("llama2-70b");
  ASSERT_TRUE(llama.has_value());
  ServeRequest r;
  r.model = tiny_model();
  r.prompt = 200, r.output = 56, r.ttft_ms = 1000, r.tpot_ms = 50, r.time_limit_s = 2;
  Result<ServeResult> res = plan_serving(tiny_fleet(), r);
  ASSERT_TRUE(res.has_value()) << res.error().message;
  const double per_token_layer = 2 * 4 * (1024 / 16) * 2;  // K and V, 4 KV heads of 64, fp16
  EXPECT_DOUBLE_EQ(res->kv_bytes_per_token, 4 * per_token_layer);
  for (const ServePipeline& p : res->layout.pipelines)
    for (const ServeStage& st : p.stages) {
      const double expected =
          p.role == ServeRole::kPrefill ? 0.0 : p.batch * (200.0 + 56) * st.layers * per_token_layer / st.tp;
      if (p.role != ServeRole::kPrefill) {
        EXPECT_NEAR(st.kv_bytes, expected, 1e-9 * expected) << st.server;
      }
      EXPECT_LE(st.weights_bytes + st.kv_bytes + st.activation_bytes, st.capacity_bytes * (1 + 1e-12));
    }
  // The graph generator's cache: the same count as state where each QKV projection runs.
  TransformerSpec s = *llama;
  s.layers = 1, s.seq = 1, s.context = 100, s.batch = 3, s.cache_positions = 300;
  Result<Graph> g = transformer(s);
  ASSERT_TRUE(g.has_value());
  for (const Node& n : g->nodes)
    if (n.id == "l0.qkv") {
      EXPECT_DOUBLE_EQ(n.state_bytes, 3.0 * 300 * 2 * 8 * 128 * 2);
    }
}

TEST(Serve, TinyFleetSearchMatchesEnumerationAndBound) {
  const Platform fleet = tiny_fleet();
  int met = 0;
  for (const double tpot : {8.0, 15.0, 40.0, 200.0})
    for (const double ttft : {50.0, 400.0, 5000.0}) {
      ServeRequest r;
      r.model = tiny_model();
      r.prompt = 512, r.output = 64, r.ttft_ms = ttft, r.tpot_ms = tpot, r.time_limit_s = 2;
      Result<Model> m = Model::build(fleet, r);
      ASSERT_TRUE(m.has_value()) << m.error().message;
      const double best = test::best_by_enumeration(*m, {0, 1, 2});
      const double bound = serve_detail::tokens_bound(*m);
      EXPECT_GE(bound * (1 + 1e-9), best) << "TPOT " << tpot << " TTFT " << ttft;
      std::vector<ServeLayout> seeds = serve_detail::baselines(*m);
      for (const ServeLayout& b : seeds) EXPECT_LE(b.tokens_per_s, best * (1 + 1e-9)) << b.name;
      long evals = 0;
      double least_tpot = kInf, least_ttft = kInf;
      const ServeLayout found = serve_detail::search_layout(*m, seeds, 2.0, &evals, &least_tpot, &least_ttft);
      EXPECT_NEAR(found.tokens_per_s, best, 1e-9 * best) << "TPOT " << tpot << " TTFT " << ttft;
      Result<ServeResult> res = plan_serving(fleet, r);
      if (best <= 0) {
        ASSERT_FALSE(res.has_value());
        EXPECT_EQ(res.error().kind, ErrorKind::kInfeasible);
        continue;
      }
      ++met;
      ASSERT_TRUE(res.has_value()) << res.error().message;
      // The replayed plans keep the objectives and stay under the bound.
      EXPECT_LE(res->layout.tpot_us, tpot * 1e3 * (1 + 1e-9));
      EXPECT_LE(res->layout.ttft_us, ttft * 1e3 * (1 + 1e-9));
      EXPECT_LE(res->layout.tokens_per_s, res->bound_tokens_per_s * (1 + 1e-9));
    }
  EXPECT_GE(met, 6);  // most settings have a layout
}

TEST(Serve, WrittenPlansValidate) {
  ServeRequest r;
  r.model = tiny_model();
  r.prompt = 512, r.output = 64, r.ttft_ms = 400, r.tpot_ms = 40, r.time_limit_s = 2;
  for (const std::string mode : {"colocated", "disaggregated"}) {
    r.mode = mode;
    Result<ServeResult> res = plan_serving(tiny_fleet(), r);
    ASSERT_TRUE(res.has_value()) << res.error().message;
    ASSERT_FALSE(res->passes.empty());
    for (const ServePass& pass : res->passes) {
      // Through the files, as a user would run `diviml validate`.
      Result<Graph> g = parse_graph(graph_to_json(pass.problem.graph()), "graph");
      ASSERT_TRUE(g.has_value());
      Result<Platform> p = parse_platform(platform_to_json(res->serving), "platform");
      ASSERT_TRUE(p.has_value());
      Result<Problem> problem = Problem::build(*g, *p);
      ASSERT_TRUE(problem.has_value());
      Result<Plan> plan = parse_plan(plan_to_json(*problem, pass.plan), "plan", *problem);
      ASSERT_TRUE(plan.has_value()) << plan.error().message;
      const Objective& obj = *find_objective(plan->objective);
      EXPECT_TRUE(static_cast<bool>(obj.validate(*problem, *plan))) << mode << " " << pass.phase;
    }
    for (const ServePipeline& p : res->layout.pipelines)
      EXPECT_TRUE(mode == "colocated" ? p.role == ServeRole::kColocated : p.role != ServeRole::kColocated);
  }
}

}  // namespace
}  // namespace diviml
