// Local search over a latency plan (split's polish, the MILP's start): moves of single nodes
// and of whole branches to another device, and re-sequencing within a device.
#pragma once

#include "diviml/objective/plan.hpp"

namespace diviml {

// What a local search kept, by kind of move.
struct MoveCounts {
  int nodes = 0;        // one node to another device
  int branches = 0;     // a branch (a node and what it alone feeds, up to 12 nodes) to another device
  int resequenced = 0;  // two neighbours in a device's order swapped, or the devices' orders rebuilt
  int kicks = 0;        // random kicks after which the descent found a better plan
  int total() const { return nodes + branches + resequenced; }
};

// Passes of three neighbourhoods until a pass keeps nothing or `time_limit_s` ends:
//  - node: one node to another device, into that device's order just before the first node
//    that starts no earlier than the node's inputs can arrive there;
//  - branch: a node with the nodes it dominates (every input comes from inside the set: an
//    inception branch, a chain) to another device the same way, in topological order;
//  - re-sequence: every device's order rebuilt by longest remaining path under the current
//    devices, then each node that waits on its device for the node before it, although its
//    inputs were there, swapped with that node.
// A move is kept when it lowers (replayed makespan, sum of node ends) lexicographically, so
// plateaus of equal makespan can be crossed, and memory capacities stay kept. Then, for the rest
// of the time, an iterated local search: two to four random node or branch moves from the best
// plan (a kick, kept whatever it costs), the passes again, and the better plan stays; it stops
// after 200 kicks in a row that gain nothing (the random sequence is fixed: same input, same
// result when the time limit does not cut it short). Colocated nodes
// do not move (their groups move whole elsewhere). Returns the improved mapping (the input when
// nothing helps or it does not replay); `counts`, when given, receives the kept moves. The
// search also stops as soon as the makespan meets `floor_us`, a proven lower bound (nothing
// can be better). No kick starts after `kicks_until_s` (seconds from the start; the descents
// themselves keep `time_limit_s`).
Mapping improve_by_moves(const Problem& problem, Mapping mapping, double time_limit_s, MoveCounts* counts = nullptr,
                         double floor_us = 0, double kicks_until_s = kInf);

}  // namespace diviml
