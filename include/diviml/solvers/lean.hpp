// Latency as the second objective of a throughput plan (docs/formulation.md, "Throughput: the
// ranking rule and latency"). Choices whose busiest loads are within a hair of each other can
// differ in one input's latency by orders of magnitude: every tensor move between devices is a
// hop an input waits for, and at a busy device a hop can cost up to a round. The period searches
// (balance's descents, the period MILP) see loads only, and their best choices cross devices at
// every other node. This part trades crossings for load around a chosen choice:
//  - within the tolerance: moves of single tasks and of runs of consecutive tasks of one lane
//    that lower the crossings while the busiest load per round stays at most `load_cap`;
//  - under --max-latency-us: the same moves against the load with each crossing priced
//    (load x (1 + w x crossings / tasks)), for growing weights w, so that latency can be bought
//    with period where the limit asks for it.
// Each choice found is realised (realize_pipeline) and returned; the caller offers them to its
// ranking (StreamBest), which keeps the rule.
//
// @code
//   std::vector<Realized> more = lean_choices(problem, ctx.within(1.0), device, cap_per_round);
//   for (Realized& r : more) best.offer(r.rank, std::move(r));
// @endcode
#pragma once

#include <vector>

#include "diviml/solvers/streams.hpp"

namespace diviml {

// Realised choices near `device` (lanes x nodes, the caller's pick) with fewer crossings: one
// within `load_cap` (busiest load per round of the choice's lanes; +inf: no cap), and, when the
// context has a latency limit, one per crossing weight walked from `device` toward a lower period
// and from `fastest` (the choice of the least period found whatever its latency; may be null)
// toward a lower latency. Each carries a note saying what it traded. Stops at the context's
// deadline; empty when nothing better was found or nothing realised.
std::vector<Realized> lean_choices(const Problem& problem, const SolveContext& ctx, const std::vector<int>& device,
                                   double load_cap, const std::vector<int>* fastest = nullptr);

}  // namespace diviml
