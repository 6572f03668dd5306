// Local improvement of a latency plan by single-node moves (split's polish, the MILP's start).
#pragma once

#include "diviml/objective/plan.hpp"

namespace diviml {

// Moves one node at a time to another device, into that device's order just before the first
// node that starts no earlier than the node's inputs can arrive there, and keeps the move when
// it lowers (replayed makespan, sum of node ends) lexicographically, so plateaus of equal
// makespan can be crossed (memory capacities kept). Passes over the nodes in topological order
// until a pass finds nothing or `time_limit_s` ends. Returns the improved mapping (the input
// when nothing helps or it does not replay).
Mapping improve_by_moves(const Problem& problem, Mapping mapping, double time_limit_s);

}  // namespace diviml
