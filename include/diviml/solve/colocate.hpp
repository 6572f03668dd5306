// Colocation repair: every colocation group (graph `colocate`, Problem::group_of) on one device,
// the same in every lane of a throughput mapping (a group's weights exist once).
//
// Solvers that place groups themselves (heft, milp, comm-greedy, metis) return mappings that
// need nothing; for the others `solve()` runs this on every mapping they return, so every plan
// honours the groups. A group split across devices moves whole to the device, among those that
// run all its members, where its own work plus the work already there is least (weights that fit
// first); each device then runs its tasks in the order of the old schedule's start times (latency)
// or by delay and topological rank (throughput), which keeps every order precedence-safe.
#pragma once

#include "diviml/objective/objective.hpp"
#include "diviml/solve/context.hpp"

namespace diviml {

// Repairs `mapping` in place; true when it moved anything.
bool colocate(const Problem& problem, const Objective& objective, Mapping& mapping);

// Latency: moves whole groups to other devices (each device's order kept by the old start
// times), keeping each move that lowers the score, until none does, the deadline, or `seconds`.
// Mappings that are not latency mappings are returned unchanged.
Mapping polish_groups(const Problem& problem, const SolveContext& ctx, Mapping mapping, double seconds);

}  // namespace diviml
