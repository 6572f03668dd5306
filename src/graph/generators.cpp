#include "diviml/graph/generators.hpp"

#include <cmath>
#include <random>
#include <string>

namespace diviml {
namespace {

// A conv-like layer: channels c_in -> c_out, k x k kernel, on a side x side fp32 feature map.
Node layer(const std::string& id, const std::string& op, int c_in, int c_out, int k, int side) {
  Node v;
  v.id = id;
  v.op = op;
  const double out = static_cast<double>(c_out) * side * side;
  const double in = static_cast<double>(c_in) * side * side;
  const double weights = static_cast<double>(c_in) * c_out * k * k;
  v.flops = 2.0 * out * c_in * k * k;
  v.param_bytes = 4.0 * weights;
  v.output_bytes = 4.0 * out;
  v.bytes_accessed = 4.0 * (in + out + weights);
  return v;
}

Node elementwise(const std::string& id, const std::string& op, int c, int side) {
  Node v;
  v.id = id;
  v.op = op;
  const double n = static_cast<double>(c) * side * side;
  v.flops = n;
  v.output_bytes = 4.0 * n;
  v.bytes_accessed = 8.0 * n;
  return v;
}

}  // namespace

Graph random_dag(int nodes, double edge_prob, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const int channels[] = {32, 64, 96, 128, 192, 256};
  const int sides[] = {7, 14, 28, 56};
  Graph g;
  g.name = "random" + std::to_string(nodes) + "-s" + std::to_string(seed);
  for (int i = 0; i < nodes; ++i) {
    int cin = channels[rng() % 6], cout = channels[rng() % 6], side = sides[rng() % 4];
    std::string id = "v" + std::to_string(i);
    Node v = u(rng) < 0.6 ? layer(id, u(rng) < 0.5 ? "conv3x3" : "conv1x1", cin, cout, u(rng) < 0.5 ? 3 : 1, side)
                          : elementwise(id, u(rng) < 0.5 ? "relu" : "add", cout, side);
    if (i == 0) v.input_bytes = 4.0 * 3 * 224 * 224;
    g.add_node(std::move(v));
  }
  for (int i = 1; i < nodes; ++i) {
    bool any = false;
    for (int j = 0; j < i; ++j)
      if (u(rng) < edge_prob) {
        g.edges.push_back(Edge{j, i, *g.nodes[j].output_bytes});
        any = true;
      }
    if (!any) {
      int j = static_cast<int>(rng() % static_cast<std::uint64_t>(i));
      g.edges.push_back(Edge{j, i, *g.nodes[j].output_bytes});
    }
  }
  (void)g.finalize();
  return g;
}

Graph module_chain(int modules, int width, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int channels[] = {32, 64, 96, 128};
  Graph g;
  g.name = "chain" + std::to_string(modules) + "x" + std::to_string(width) + "-s" + std::to_string(seed);
  int side = 28;
  int prev = g.add_node(layer("stem", "conv3x3", 3, 192, 3, side));
  g.nodes[prev].input_bytes = 4.0 * 3 * side * side;
  for (int m = 0; m < modules; ++m) {
    std::string p = "m" + std::to_string(m) + ".";
    std::vector<int> ends;
    int total = 0;
    for (int b = 0; b < width; ++b) {
      int depth = 1 + static_cast<int>(rng() % 3);
      int last = prev, cin = 192;
      for (int l = 0; l < depth; ++l) {
        int cout = channels[rng() % 4];
        int k = l == depth - 1 && depth > 1 ? 3 : 1;
        int v = g.add_node(layer(p + "b" + std::to_string(b) + "." + std::to_string(l), k == 3 ? "conv3x3" : "conv1x1",
                                 cin, cout, k, side));
        g.edges.push_back(Edge{last, v, *g.nodes[last].output_bytes});
        last = v;
        cin = cout;
      }
      total += cin;
      ends.push_back(last);
    }
    int cat = g.add_node(elementwise(p + "concat", "cat", total, side));
    for (int e : ends) g.edges.push_back(Edge{e, cat, *g.nodes[e].output_bytes});
    int fork = g.add_node(layer(p + "out", "conv1x1", total, 192, 1, side));
    g.edges.push_back(Edge{cat, fork, *g.nodes[cat].output_bytes});
    prev = fork;
  }
  (void)g.finalize();
  return g;
}

}  // namespace diviml
