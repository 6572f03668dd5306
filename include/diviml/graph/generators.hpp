// Seeded synthetic graphs for benchmarks and tests. Nodes carry flops, bytes_accessed,
// param_bytes and output_bytes of convolution-like layers, so the roofline cost model gives
// each device a realistic, different cost. Same arguments, same graph.
#pragma once

#include <cstdint>
#include <string>

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

// GPT-style decoder-only transformer for one forward pass over `batch` sequences of `seq`
// tokens: token+position embedding, `layers` blocks of (LayerNorm, QKV projection, attention
// scores, softmax, attention x V, output projection, residual add, LayerNorm, MLP up, GELU, MLP
// down, residual add) and a final LayerNorm + LM head. With `split_heads` the attention of
// each block is emitted per head (parallel branches), which is what tensor parallelism needs.
// Each QKV projection carries its keys and values of the prompt as `state_bytes` (the KV cache
// the decode steps read), resident where it runs like its weights.
struct TransformerSpec {
  int layers = 12;
  int d_model = 768;
  int heads = 12;
  int seq = 128;
  int batch = 1;
  int vocab = 50257;
  int bytes_per_value = 2;  // fp16 weights and activations
  bool split_heads = false;
  // Decode: tokens already in the KV cache. 0 = a prefill of `seq` tokens (their keys and values
  // become the cache); > 0 = a decode step of `seq` new tokens (usually 1) attending to
  // `context` cached positions and themselves, the cache resident where each qkv runs.
  int context = 0;
};
Result<Graph> transformer(const TransformerSpec& spec);

}  // namespace diviml
