// MILP-SPLIT, DiviML's module-based heuristic (docs/formulation.md, "Module splitting").
//
// A split node is one that every source-to-sink path passes through. Split nodes cut the graph
// into modules that run one after another: a module's nodes all descend from its entry split
// node and all precede its exit. For every pair of boundary devices (a, b) the module is solved
// alone with its entry finished on a at time 0 and its exit pinned to b, giving T_q(a, b); a
// DP over the modules, F_{q+1}(b) = min_a F_q(a) + T_q(a, b), stitches the best sequence.
// When every module solve is optimal, the DP optimum is the global optimum.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "diviml/solve/solver.hpp"

namespace diviml {

struct Module {
  int entry = -1;          // split node finished before the module starts (-1: graph start)
  int exit = -1;           // split node that ends it (-1: graph end)
  std::vector<int> nodes;  // nodes strictly inside, in topological order
  bool chain = false;      // inside nodes form a path that only the entry may skip into
  // Multi-channel cut (both empty when the module is solved whole): the inside nodes as
  // consecutive segments, and per cut (segments.size() - 1 of them) the producer nodes whose
  // tensors cross it. The DP inside the module carries the devices of those producers.
  std::vector<std::vector<int>> segments;
  std::vector<std::vector<int>> channels;
};

// Modules between consecutive split nodes; consecutive pieces are merged while the merged
// module holds at most `size_cap` nodes inside (a piece larger than the cap stays whole).
std::vector<Module> decompose(const Graph& graph, int size_cap);

// Cuts a module with more than `size_cap` nodes inside into segments of at most `size_cap`
// nodes, at cuts that at most `max_channels` tensors cross and that give up no parallelism: the
// longest path before the cut plus the longest path after it (fastest device per node, free
// transfers) stays within 2% of the module's longest path, so the segments could run one after
// another at little loss. Among the topological and the level order, the segmentation needing
// the fewest pinned solves wins (a segment that is a path counts as cheap: DP over devices).
// Leaves `segments` empty when no such segmentation exists.
void cut_module(const Problem& problem, Module& module, int size_cap, int max_channels, double cut_slack = 0.02,
                int exact_module_nodes = 12);

// The module alone as a restricted view of the problem (Problem::restrict): its nodes, the
// entry as a zero-cost source on `entry_device`, the exit pinned to `exit_device` (either -1
// when absent). Node 0 is the entry when present; the exit, when present, is last.
Problem module_problem(const Problem& problem, const Module& module, int entry_device, int exit_device);

// `split`: solves every module for every boundary pair (a chain by DP over devices, others by
// the MILP with a share of --time-limit), in parallel over --threads, once per set of identical
// modules; then the DP. A module cut into segments (cut_module) gets its boundary-pair table
// from an inner DP whose state is the devices of the crossing tensors, each segment solved for
// every combination of the devices it reads and the devices of the tensors it hands on. Memory capacities couple
// modules: when the stitched plan overflows a device, split returns the best plan that fits among its own, HEFT's and
// fastest's (noted).
//
// Throughput: the modules become pipeline stages (src/solvers/split/stream_split.hpp).
class SplitSolver : public Solver {
 public:
  std::string name() const override { return "split"; }
  std::string description() const override {
    return "module splitting: exact module solves for every boundary pair, stitched by DP";
  }
  bool supports(const Objective&) const override { return true; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
