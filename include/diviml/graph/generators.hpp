// Seeded synthetic graphs for benchmarks and tests. Nodes carry flops, bytes_accessed,
// param_bytes and output_bytes of convolution-like layers, so the roofline cost model gives
// each device a realistic, different cost. Same arguments, same graph.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "diviml/graph/graph.hpp"

namespace diviml {

// `nodes` operators in a random DAG: node i gets an edge from each j < i with probability
// `edge_prob` (at least one predecessor for i > 0, so the graph is connected from node 0).
Graph random_dag(int nodes, double edge_prob, std::uint64_t seed);

// A chain of `modules` Inception-like modules: a fork node, `width` parallel branches of 1 to 3
// layers each, and a concat node that forks the next module. Split nodes are the forks. With
// `skip` > 1, a residual edge also runs from the fork before every `skip`-th module to the fork
// closing `skip` modules later (as in U-Net or long residual streams): the forks in between are
// no longer split nodes, only two tensors cross there (multi-channel cuts).
Graph module_chain(int modules, int width, std::uint64_t seed, int skip = 0);

// Randomly wired network (Xie, Kirillov, Girshick, He: "Exploring Randomly Wired Neural
// Networks for Image Recognition", ICCV 2019). Each stage is a random graph (WS, ER or BA) of
// `nodes` nodes whose edges are oriented from lower to higher index; a stage's single input
// node feeds every node without inputs, and a single output node averages every node without
// outputs; the output node of one stage is the input node of the next. Node op:
// weighted-sum aggregation + ReLU-SepConv3x3-BN with real channel counts (channels doubles and
// the side halves each stage; nodes reading the stage input use stride 2). A stem conv before
// the first stage and a classifier (1x1 conv to 1280, pooling, linear 1000) after the last.
struct RwnnSpec {
  std::string model = "ws";  // ws | er | ba
  int nodes = 32;            // N per stage
  int stages = 3;
  int k = 4;             // WS: ring neighbours (even, < N)
  double p = 0.75;       // WS rewiring / ER edge probability
  int m = 5;             // BA: edges per new node (< N)
  int channels = 78;     // C of the first stage (the paper's small regime)
  int resolution = 224;  // input image side
  std::uint64_t seed = 0;
};
Result<Graph> rwnn(const RwnnSpec& spec);

// A decoder-only transformer for one forward pass over `batch` sequences of `seq` tokens: token
// (and, with `learned_positions`, position) embedding, `layers` blocks of (norm, QKV projection,
// attention scores, softmax, attention x V, output projection, residual add, norm, MLP, residual
// add) and a final norm + LM head. The MLP is GPT's (up to 4 x d_model, GELU, down) or, with
// `ffn` > 0, a gated one of that width (SwiGLU: gate and up projections, SiLU x multiply, down:
// three matrices). `kv_heads` < `heads` is grouped-query attention: the K and V projections and
// the KV cache are kv_heads / heads of the queries'. With `split_heads` the attention of each
// block is emitted per head (parallel branches). Each QKV projection carries the keys and values
// of its sequences as `state_bytes` (the KV cache the decode steps read), resident where it runs
// like its weights. With `allreduce_us` (every device's time for one all-reduce of a block's
// activation: tensor parallelism), each block gets an all-reduce after its attention projection
// and one after its MLP, costed so per device.
struct TransformerSpec {
  int layers = 12;
  int d_model = 768;
  int heads = 12;
  int kv_heads = 0;  // 0: as many as `heads` (multi-head attention)
  int ffn = 0;       // 0: GPT's MLP (4 x d_model, GELU); > 0: a gated MLP (SwiGLU) of this width
  int seq = 128;
  int batch = 1;
  int vocab = 50257;
  int bytes_per_value = 2;  // fp16 weights and activations
  bool learned_positions = true;
  bool split_heads = false;
  // Decode: tokens already in the KV cache. 0 = a prefill of `seq` tokens (their keys and values
  // become the cache); > 0 = a decode step of `seq` new tokens (usually 1) attending to
  // `context` cached positions and themselves, the cache resident where each qkv runs.
  int context = 0;
  // Room in the KV cache for this many positions of every sequence (0: what the pass itself
  // holds, context + seq): a server keeps room for prompt + output tokens.
  int cache_positions = 0;
  // Sequences whose KV cache is resident (0: `batch`): a pass over one micro-batch of a server
  // that keeps the cache of every sequence it serves.
  int cache_batch = 0;
  // Serving: the LM head computes the logits of each sequence's last position only, and the token
  // sampled from them (8 bytes per sequence) goes back to the host, not the logits.
  bool last_logits_only = false;
  std::vector<std::pair<std::string, double>> allreduce_us = {};
};
Result<Graph> transformer(const TransformerSpec& spec);

// The published shapes of well-known decoders (docs/serving.md cites them): gpt3-175b (Brown et
// al. 2020, table 2.1: 96 layers, d 12288, 96 heads, GELU MLP of 4 d, vocabulary 50257, learned
// positions), llama2-70b (Touvron et al. 2023: 80 layers, d 8192, 64 heads of which 8 KV heads,
// SwiGLU 28672, vocabulary 32000, rotary positions) and llama3-8b (Meta's model card: 32 layers,
// d 4096, 32 heads, 8 KV heads, SwiGLU 14336, vocabulary 128256); 16-bit weights. The pass's
// own sizes (seq, batch, context) stay as given. An unknown name is an error listing the known.
Result<TransformerSpec> transformer_preset(const std::string& name);
std::vector<std::string> transformer_preset_names();

}  // namespace diviml
