// An independent sweep of memory over time (docs/cost-model.md, "Memory over time"), written
// from the definition and not from objective/memory.cpp: per lane, the intervals each device
// holds (a node's workspace while it runs, its model input from its host transfer's end, its
// output until its local consumers, its copies and its return to the host end, a received copy
// until its last consumer there ends), weights and state once per device that runs the node.
// A latency plan is one lane swept once. A throughput plan's round repeats every lanes x period:
// every interval is laid down at every whole multiple of the round that can reach the measured
// round, and the bytes held are summed by brute force at a point just after each interval's
// start (no modulo arithmetic). O(intervals^2 x rounds spanned): for tiny plans.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "diviml/objective/plan.hpp"

namespace diviml::testing {

// Per device, the most bytes held at once.
inline std::vector<double> brute_force_peaks(const Problem& pr, const Plan& plan) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  const bool stream = plan.objective == "throughput";
  const int lanes = stream ? std::max(1, plan.lanes) : 1;
  const double round = stream ? lanes * plan.period_us : 0.0;
  struct Held {
    double from, to, bytes;
  };
  std::vector<std::vector<Held>> held(k);
  std::vector<double> resident(k, 0.0);
  std::vector<std::vector<char>> runs(k, std::vector<char>(n, 0));
  for (int l = 0; l < lanes; ++l) {
    std::vector<const Placement*> at(n, nullptr);
    for (const Placement& p : plan.placements)
      if ((stream ? p.lane : 0) == l) at[p.node] = &p;
    // A task with delay q works, in the recorded round, on the input injected q rounds before:
    // on its own input's clock its times (and those of the moves it makes) are q rounds later.
    auto shift = [&](int v) { return stream && at[v] ? at[v]->delay * round : 0.0; };
    auto end = [&](int v) { return at[v]->end_us + shift(v); };
    for (int v = 0; v < n; ++v) {
      if (!at[v]) continue;
      const Node& node = g.nodes[v];
      const int d = at[v]->device;
      if (!runs[d][v]) runs[d][v] = 1, resident[d] += node.param_bytes + node.state_bytes;
      const double start = at[v]->start_us + shift(v);
      held[d].push_back({start, end(v), node.workspace_bytes});
      double input_end = pr.input_us(v, d), output_end = end(v) + pr.output_us(v, d);
      for (const HostTransfer& h : plan.host_transfers)
        if ((stream ? h.lane : 0) == l && h.node == v) (h.to_host ? output_end : input_end) = h.end_us + shift(v);
      if (!stream) input_end = pr.input_us(v, d), output_end = end(v) + pr.output_us(v, d);
      if (node.input_bytes > 0) held[d].push_back({std::min(start, input_end), end(v), node.input_bytes});
      double size = node.output_bytes ? *node.output_bytes : 0.0;
      double until = end(v);
      if (g.out_edges(v).empty()) until = std::max(until, output_end);
      for (int e : g.out_edges(v)) {
        const int w = g.edges[e].dst;
        if (!node.output_bytes) size = std::max(size, g.edges[e].bytes);
        if (at[w] && at[w]->device == d) until = std::max(until, end(w));
      }
      // Copies of v's tensor, one per other device that reads it.
      for (int b = 0; b < k; ++b) {
        if (b == d) continue;
        double copy_end = -1, bytes = 0, last = -1;
        for (const Transfer& t : plan.transfers)
          if ((stream ? t.lane : 0) == l && g.edges[t.edge].src == v && t.to == b)
            copy_end = std::max(copy_end, t.end_us + shift(v));
        for (int e : g.out_edges(v))
          if (at[g.edges[e].dst] && at[g.edges[e].dst]->device == b)
            bytes = std::max(bytes, g.edges[e].bytes), last = std::max(last, end(g.edges[e].dst));
        if (copy_end < 0) continue;
        until = std::max(until, copy_end);
        held[b].push_back({copy_end, std::max(last, copy_end), bytes});
      }
      held[d].push_back({start, until, size});
    }
  }
  std::vector<double> peak(k, 0.0);
  for (int d = 0; d < k; ++d) {
    peak[d] = resident[d];
    std::vector<double> points = {0.0};
    for (const Held& h : held[d])
      if (h.bytes > 0 && h.to > h.from) points.push_back(h.from);
    for (double t0 : points) {
      double t = t0, sum = resident[d];
      if (stream && round > 0) t = t0 - std::floor(t0 / round) * round;  // its place in the round
      const double probe = t + 1e-11 * std::max(1.0, round);
      for (const Held& h : held[d]) {
        if (h.bytes <= 0 || h.to <= h.from) continue;
        if (!stream || round <= 0) {
          sum += h.from <= probe && probe < h.to ? h.bytes : 0.0;
          continue;
        }
        // Every copy of the interval, one per round, that holds at the probe.
        const long first = static_cast<long>(std::floor((probe - h.to) / round)) - 1;
        const long last = static_cast<long>(std::ceil((probe - h.from) / round)) + 1;
        for (long j = first; j <= last; ++j)
          if (h.from + j * round <= probe && probe < h.to + j * round) sum += h.bytes;
      }
      peak[d] = std::max(peak[d], sum);
    }
  }
  return peak;
}

}  // namespace diviml::testing
