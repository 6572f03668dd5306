// Seeded synthetic graphs for benchmarks and tests. Nodes carry flops, bytes_accessed,
// param_bytes and output_bytes of convolution-like layers, so the roofline cost model gives
// each device a realistic, different cost. Same arguments, same graph.
#pragma once

#include <cstdint>

#include "diviml/graph/graph.hpp"

namespace diviml {

// `nodes` operators in a random DAG: node i gets an edge from each j < i with probability
// `edge_prob` (at least one predecessor for i > 0, so the graph is connected from node 0).
Graph random_dag(int nodes, double edge_prob, std::uint64_t seed);

// A chain of `modules` Inception-like modules: a fork node, `width` parallel branches of 1 to 3
// layers each, and a concat node that forks the next module. Split nodes are the forks.
Graph module_chain(int modules, int width, std::uint64_t seed);

}  // namespace diviml
