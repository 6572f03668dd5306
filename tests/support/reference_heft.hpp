// A plain reference of insertion-based HEFT for tests: the textbook slot scan over a sorted
// vector (quadratic, obviously right), with the same priority list and tie rules as the
// library's HeftSolver, whose gap index must give the same placement.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/fastest.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/moves.hpp"

namespace diviml::testing {

// Device per node and per-device order, or an empty mapping when greedy placement gets stuck.
inline Mapping reference_heft(const Problem& pr, const std::vector<int>& priority) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  struct Slot {
    double start, end;
    int node;
  };
  std::vector<std::vector<Slot>> busy(k);
  std::vector<double> mem(k, 0.0), fin(n, 0.0);
  std::vector<int> dev(n, -1);
  for (int v : priority) {
    double best_score = kInf, best_start = 0;
    int best_d = -1;
    size_t best_pos = 0;
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(v, d) || mem[d] + pr.resident_bytes(v) > pr.capacity_bytes(d)) continue;
      double ready = pr.input_us(v, d);
      for (int e : g.in_edges(v)) ready = std::max(ready, fin[g.edges[e].src] + pr.comm_us(e, dev[g.edges[e].src], d));
      if (!std::isfinite(ready)) continue;
      const double dur = pr.cost_us(v, d);
      double start = -1, prev_end = 0;
      size_t at = busy[d].size();
      for (size_t j = 0; j < busy[d].size(); ++j) {
        const double s = std::max(ready, prev_end);
        if (s + dur <= busy[d][j].start && s < busy[d][j].start) {
          start = s;
          at = j;
          break;
        }
        prev_end = busy[d][j].end;
      }
      if (start < 0) start = std::max(ready, prev_end);
      const double score = start + dur + pr.output_us(v, d);
      if (score < best_score) best_score = score, best_d = d, best_start = start, best_pos = at;
    }
    if (best_d < 0) return {};
    dev[v] = best_d;
    fin[v] = best_start + pr.cost_us(v, best_d);
    mem[best_d] += pr.resident_bytes(v);
    busy[best_d].insert(busy[best_d].begin() + static_cast<std::ptrdiff_t>(best_pos), Slot{best_start, fin[v], v});
  }
  Mapping m;
  m.device = dev;
  m.order.assign(k, {});
  for (int d = 0; d < k; ++d)
    for (const Slot& s : busy[d]) m.order[d].push_back(s.node);
  return m;
}

}  // namespace diviml::testing
