// Split's pinned sub-problems (internal): a module or segment solved alone with its boundary
// devices pinned, on a restricted view of the problem, by internal calls to the path DP, HEFT,
// branch and bound and the MILP. No registry, no top-level evaluation: one evaluation of the
// decision on the view, and the objective's quick bound.
#pragma once

#include <string>
#include <vector>

#include "diviml/solve/context.hpp"
#include "diviml/solvers/split.hpp"

namespace diviml::split {

// One pinned-boundary solve: its time from the end of the entry to the end of the exit (or of
// the graph), a bound, and its schedule in the view's node numbering (sources first).
struct PinnedSolve {
  double time_us = kInf;
  double bound_us = kInf;
  bool proven = false;
  bool pruned = false;                  // cannot lie on an optimal sequence (bounds), so it needs no proof
  std::vector<int> device;              // per local node
  std::vector<std::vector<int>> order;  // per device, local nodes
  std::vector<std::string> trouble;     // CBC children that crashed or were killed on the way
};

// A module's nodes in its view's numbering: entry, inside nodes, exit.
std::vector<int> module_nodes(const Module& m);

// Fusion of cheap followers (see pinned.cpp): `members` receives, per fused node, its nodes in
// order; nodes marked in `fixed` are never fused.
Problem fuse_chains(const Problem& sub, const std::vector<char>& fixed, std::vector<std::vector<int>>& members);

// A quick pinned solve: DP when the view is a path after its `num_sources` sources, else the
// better of HEFT and everything-not-pinned on one device; bound: the objective's quick bound.
PinnedSolve quick_solve(const Problem& sub, int num_sources, const SolveContext& ctx);

// Everything of the view on device `d` but what cannot run there (pinned nodes among them),
// which goes to its fastest device; time from the objective, no bound. Infinite time when some
// node can run nowhere.
PinnedSolve single_device_solve(const Problem& sub, int d, const SolveContext& ctx);

// The exact pinned solve (fused first when it has more than exact-module-nodes nodes besides
// its `fixed` ones): branch and bound from `quick`, then the MILP where the search did not
// finish. Its bound is 0 when fused (the fused optimum bounds nothing). `cutoff` (finite): only
// a plan below it is of use to the caller; a search that proves there is none returns `quick`
// with its bound raised to the cutoff, marked pruned.
PinnedSolve exact_solve(const Problem& sub, const std::vector<char>& fixed, const SolveContext& ctx,
                        const PinnedSolve* quick, double cutoff = kInf);

}  // namespace diviml::split
