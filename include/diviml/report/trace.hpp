// A plan as a Chrome trace (Trace Event format, JSON object form), for Perfetto or
// chrome://tracing: the observer that writes a standard format next to the SVG Gantt.
//
// One process ("pid" 1) named after the graph, platform and solver. Tracks ("tid"):
//  - one per device, in platform order: a complete event ("ph": "X") per op, named by its node
//    id, category its op kind, args {node, op, device[, lane]};
//  - one per link direction "a -> b" that carries a copy (host transfers included), more when
//    copies overlap there (the latency model has no link contention: "a -> b #2", ...), so that
//    no two complete events of one track overlap; args {edge or node, bytes[, lane]};
//  - flow arrows ("ph": "s" / "f", one id per copy) from the producing op to the copy and from
//    the copy to each op that reads it on the destination;
//  - one counter ("ph": "C") per device: the bytes it holds over time (objective/memory.hpp;
//    for a throughput plan, one steady-state round).
// Times ("ts", "dur") are microseconds, as the format expects, from the plan's time 0.
// Measured timelines (diviml-execute --timeline) are plan files too: `diviml gantt
// --trace` writes theirs the same way, so the two open side by side.
#pragma once

#include <string>

#include "diviml/objective/plan.hpp"

namespace diviml {

std::string chrome_trace(const Problem& problem, const Plan& plan);

}  // namespace diviml
