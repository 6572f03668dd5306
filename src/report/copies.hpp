// Internal to src/report: the copies a plan makes, as the observers draw them (trace, HTML).
#pragma once

#include <string>
#include <vector>

#include "diviml/objective/plan.hpp"

namespace diviml::report {

// A copy on link (from, to): a tensor between devices, or a model input or output to or from
// the host. Sorted by (start, end).
struct Copy {
  int from = -1, to = -1;
  double start = 0, end = 0;
  double bytes = 0;
  std::string name;          // "X -> device", "input of X", "output of X"
  std::string role;          // "tensor of", "input of", "output of"
  int node = -1;             // the node the copy is named after (producer, or the host transfer's node)
  int producer = -1;         // node whose op sends it (-1: the host's input)
  std::vector<int> readers;  // nodes that read it on the destination (same lane)
  int lane = 0;              // throughput plans: the lane; else 0
};

std::vector<Copy> plan_copies(const Problem& problem, const Plan& plan);

}  // namespace diviml::report
