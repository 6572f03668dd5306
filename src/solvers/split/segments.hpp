// Segments of a cut module (internal): each segment solved for every device combination of the
// crossing tensors it reads and hands on, chained by the min-plus DP into the module's
// boundary-pair table.
#pragma once

#include <optional>
#include <vector>

#include "min_plus.hpp"
#include "pinned.hpp"

namespace diviml::split {

struct SegmentPlan {
  std::vector<int> nodes;           // graph nodes solved in it (the module's exit last in the last)
  std::vector<int> before, after;   // state layouts: channel producers, in a fixed order
  std::vector<int> reads;           // channels of `before` with an edge into `nodes`
  std::vector<int> writes;          // nodes of `after` that are in `nodes`
  std::vector<PinnedSolve> solves;  // index: reads' devices, then writes' devices (base k)
  std::vector<char> exact;          // per solve: still needs the exact (MILP) solve
};

std::vector<SegmentPlan> segment_plans(const Problem& problem, const Module& m);

// The pinned view of one device combination of a segment, or nothing when a written node
// cannot run on its device. `fixed`, when given, marks the view's pinned nodes.
std::optional<Problem> segment_problem(const Problem& problem, const SegmentPlan& sp, int combo,
                                       std::vector<char>* fixed);

// The segments as layers: layer s holds the device states before segment s, arcs the solve
// combinations that lead from one state to the next.
Layers segment_layers(const std::vector<SegmentPlan>& plans, int k);

// Marks the segment combinations worth an exact solve: one on a sequence whose bounds (outer
// reach + inner path + outer rest) stay within the best quick plan, and whose quick times stay
// within `slack` of it (cut modules prove nothing).
void mark_segment_solves(const Module& m, std::vector<SegmentPlan>& plans, int k, const std::vector<double>& reach_lb,
                         const std::vector<double>& rest_lb, const std::vector<double>& reach_t,
                         const std::vector<double>& rest_t, double best, double slack);

// The boundary-pair table of a cut module: for each entry device, the DP over the segments,
// then the stitched schedule evaluated on the whole module (overlap across cuts can only help);
// a cell takes it where it is better.
void cut_table(const Problem& problem, const Module& m, const std::vector<SegmentPlan>& plans, int rows, int cols,
               std::vector<PinnedSolve>& cells, const SolveContext& ctx);

}  // namespace diviml::split
