// Memory over time of a latency plan (issue 13, first part): what each device holds while the
// plan runs, by a sweep over its placements and copies.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "diviml/objective/plan.hpp"

namespace diviml {

// Per device:
// - resident bytes for the whole plan: the weights and state (`state_bytes`) of every node
//   placed on it;
// - an output from its producer's start until its last local consumer ends, its outgoing
//   copies end, and (a sink) its return to the host ends (its host transfer's end; a stream
//   queues it on the host's link); its size is the node's output_bytes,
//   else its largest outgoing edge;
// - a received tensor from its copy's end until its last consumer on the device ends; its size
//   is the largest edge the copy serves;
// - the model input (`input_bytes`) from its arrival (its host transfer's end) until the node
//   that reads it ends;
// - an op's `workspace_bytes` while it runs.
// Intervals are half-open [from, to): a tensor freed at t and one made at t do not add up.
struct MemoryProfile {
  std::vector<double> resident_bytes;                         // per device
  std::vector<double> peak_bytes;                             // per device, resident included
  std::vector<double> peak_at_us;                             // when the peak is first reached
  std::vector<std::vector<std::pair<double, double>>> steps;  // per device: (time, bytes) from then on
};

// The plan must match the problem (validated or replayed). A latency plan's placements are one
// inference, swept from time 0. A throughput plan's are one steady-state round of R inputs
// (one per lane), which repeats every R x period_us: every interval above is taken per lane
// (a tensor, its copies and its consumers in the same lane) and laid over one round modulo
// R x period_us, so an interval longer than the round counts once per round it spans (the
// inputs in flight). A task of delay q (modulo scheduling) works on the input injected q rounds
// before the round recorded: its times, and those of the moves it makes, are taken q rounds
// later on its input's clock (a tensor waits for a delayed consumer across rounds). Resident
// bytes there are the weights of every node once per device that runs it in any lane; times in
// `steps` and `peak_at_us` are within [0, R x period_us).
MemoryProfile memory_profile(const Problem& problem, const Plan& plan);

// Why no plan can fit the devices' memory, by four necessary conditions:
// - a node's weights and state larger than every device that can run it;
// - (`over_time`) a node whose working set while it runs (weights, state, workspace, model
//   input, its output and what it reads) is larger than every device that can run it;
// - all weights and state together larger than all devices together;
// - (`over_time`) all weights and state plus the busiest node's tensors and workspace larger
//   than all devices together (while it runs, every weight is resident somewhere).
// Nodes that take no time on some device hold nothing there and are left out of the working
// sets. Empty when none holds (a plan may still not exist: packing is the solvers' search).
// One line, naming the node or the totals.
std::string memory_shortfall(const Problem& problem, bool over_time = true);

// Whether a plan's peak fits every device's memory_bytes (true without limits).
bool fits_memory(const Problem& problem, const Plan& plan);

// Bytes for people: "1.5 GiB", "640 KiB", "80 B".
std::string bytes_text(double bytes);

}  // namespace diviml
