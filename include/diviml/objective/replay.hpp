// Independent discrete-event replay: given a mapping (device per node and the order on each
// device), compute the earliest start of every node, its transfers and the makespan. Every
// solver's output goes through it, so the reported makespan is the replayed one.
#pragma once

#include "diviml/objective/plan.hpp"

namespace diviml {

// Fails (naming the node) when the mapping is incomplete, puts a node on a device that
// cannot run it or cannot receive its inputs, or orders a device against precedence.
// The returned plan has status kHeuristic, no solver name and no lower bound.
Result<Plan> replay(const Problem& problem, const Mapping& mapping);

// The mapping behind given times: each node's device order by the midpoint of its interval
// [start, start + cost] (a zero-length op that starts with a longer one goes first), ties by
// topological position, emitted as a list schedule so the orders never contradict precedence
// even when solver times carry tolerances.
Mapping mapping_from_times(const Problem& problem, const std::vector<int>& device, const std::vector<double>& start_us);
// The same for a plan's placements.
Mapping mapping_of(const Problem& problem, const Plan& plan);

// Mapping that runs nodes in `priority` order (a topological order) on the given devices.
Mapping mapping_from_priority(const Problem& problem, const std::vector<int>& device, const std::vector<int>& priority);

}  // namespace diviml
