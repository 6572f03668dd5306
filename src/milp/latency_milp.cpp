// The latency MILP of docs/formulation.md on the solver-neutral MilpModel.
#include "diviml/milp/latency_milp.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/replay.hpp"

namespace diviml {
namespace {

// reach[i] has bit j set when j is reachable from i (bitset transitive closure).
std::vector<std::vector<std::uint64_t>> closure(const Graph& g) {
  const int n = g.num_nodes();
  const int words = (n + 63) / 64;
  std::vector<std::vector<std::uint64_t>> reach(n, std::vector<std::uint64_t>(words, 0));
  const auto& topo = g.topo_order();
  for (auto it = topo.rbegin(); it != topo.rend(); ++it) {
    int v = *it;
    for (int e : g.out_edges(v)) {
      int w = g.edges[e].dst;
      reach[v][w / 64] |= std::uint64_t{1} << (w % 64);
      for (int k = 0; k < words; ++k) reach[v][k] |= reach[w][k];
    }
  }
  return reach;
}

bool reaches(const std::vector<std::vector<std::uint64_t>>& r, int a, int b) { return (r[a][b / 64] >> (b % 64)) & 1; }

// An upper bound on the optimal makespan without any plan: run every node one after another
// on its slowest feasible device with every transfer and host move paid in full.
double serial_horizon(const Problem& pr) {
  const Graph& g = pr.graph();
  double h = 0;
  for (int v = 0; v < pr.num_nodes(); ++v) {
    double worst = 0, in = 0, out = 0;
    for (int d = 0; d < pr.num_devices(); ++d) {
      if (!pr.can_run(v, d)) continue;
      worst = std::max(worst, pr.cost_us(v, d));
      if (std::isfinite(pr.input_us(v, d))) in = std::max(in, pr.input_us(v, d));
      if (std::isfinite(pr.output_us(v, d))) out = std::max(out, pr.output_us(v, d));
    }
    h += worst + in + out;
  }
  for (int e = 0; e < g.num_edges(); ++e) {
    double worst = 0;
    for (int a = 0; a < pr.num_devices(); ++a)
      for (int b = 0; b < pr.num_devices(); ++b)
        if (std::isfinite(pr.comm_us(e, a, b))) worst = std::max(worst, pr.comm_us(e, a, b));
    h += worst;
  }
  return h;
}

}  // namespace

long count_unordered_pairs(const Graph& g) {
  auto reach = closure(g);
  const int n = g.num_nodes();
  long pairs = 0;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (!reaches(reach, i, j) && !reaches(reach, j, i)) ++pairs;
  return pairs;
}

LatencyMilp build_latency_milp(const Problem& pr, const Plan* inc, std::chrono::steady_clock::time_point deadline,
                               SymmetryRule symmetry) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  LatencyMilp L;
  MilpModel& m = L.model;
  // A hair above the incumbent: with the horizon exactly at its makespan, CBC's
  // preprocessing has declared such models infeasible (bounds met with equality).
  const double H = inc ? inc->makespan_us * (1 + 1e-7) + 1e-7 : serial_horizon(pr);
  L.horizon_us = H;
  // Heads and tails tighten everything: a node on device d starts no earlier than its head
  // and leaves at least its tail before the end, so in any plan no longer than H it can use d
  // only if head + tail <= H, and its start lies in [min head, H - min tail].
  const HeadTail ht = heads_and_tails(pr);
  auto head = [&](int i, int d) { return ht.head[i * k + d]; };
  auto tail = [&](int i, int d) { return ht.tail[i * k + d]; };
  const double slack = 1e-9 * std::max(1.0, H);
  std::vector<double> s_lo(n, kInf), s_hi(n, -kInf);
  L.x.assign(n, std::vector<int>(k, -1));
  L.start.assign(n, -1);
  for (int i = 0; i < n; ++i) {
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(i, d) || !std::isfinite(head(i, d)) || !std::isfinite(tail(i, d))) continue;
      bool on_incumbent = inc && inc->placements[i].device == d;
      if (head(i, d) + tail(i, d) > H + slack && !on_incumbent) continue;
      L.x[i][d] = m.add_var(0, 1, 0, true, "x_" + std::to_string(i) + "_" + std::to_string(d));
      s_lo[i] = std::min(s_lo[i], head(i, d));
      s_hi[i] = std::max(s_hi[i], H - tail(i, d));
    }
    if (!std::isfinite(s_lo[i])) s_lo[i] = 0, s_hi[i] = H;  // no device left: the model is infeasible
    s_hi[i] = std::max(s_hi[i], s_lo[i]);
    L.start[i] = m.add_var(s_lo[i], s_hi[i], 0, false, "s_" + std::to_string(i));
  }
  L.cmax = m.add_var(0, H, 1.0, false, "cmax");
  // Assignment; start after the head; Cmax after start + tail (covers the sinks' outputs).
  for (int i = 0; i < n; ++i) {
    std::vector<std::pair<int, double>> row, in{{L.start[i], 1.0}};
    std::vector<std::pair<int, double>> out{{L.cmax, 1.0}, {L.start[i], -1.0}};
    for (int d = 0; d < k; ++d) {
      int x = L.x[i][d];
      if (x < 0) continue;
      row.push_back({x, 1.0});
      if (head(i, d) > s_lo[i]) in.push_back({x, -(head(i, d) - s_lo[i])});
      out.push_back({x, -tail(i, d)});
    }
    m.add_row(row, 1, 1);
    if (in.size() > 1) m.add_row(in, s_lo[i], kInf);
    m.add_row(out, 0, kInf);
  }
  // Colocation groups: every member on the device of the group's first member.
  for (int c = 0; c < pr.num_groups(); ++c) {
    const std::vector<int>& members = pr.group_members(c);
    for (size_t j = 1; j < members.size(); ++j)
      for (int d = 0; d < k; ++d) {
        std::vector<std::pair<int, double>> row;
        if (L.x[members[0]][d] >= 0) row.push_back({L.x[members[0]][d], 1.0});
        if (L.x[members[j]][d] >= 0) row.push_back({L.x[members[j]][d], -1.0});
        if (!row.empty()) m.add_row(row, 0, 0);
      }
  }
  // Each device's load fits in the makespan.
  for (int d = 0; d < k; ++d) {
    std::vector<std::pair<int, double>> load{{L.cmax, 1.0}};
    for (int i = 0; i < n; ++i)
      if (L.x[i][d] >= 0 && pr.cost_us(i, d) > 0) load.push_back({L.x[i][d], -pr.cost_us(i, d)});
    if (load.size() > 1) m.add_row(load, 0, kInf);
  }
  // Precedence with transfer delays. For each device a of i:
  //   S_j >= C_i + sum_{b != a} c_ij^ab (x_ia + x_jb - 1)
  // which is C_i + c^ab when i is on a and j on b, and never more than C_i otherwise.
  for (int e = 0; e < g.num_edges(); ++e) {
    const int i = g.edges[e].src, j = g.edges[e].dst;
    auto completion = [&](std::vector<std::pair<int, double>>& row) {
      row.push_back({L.start[j], 1.0});
      row.push_back({L.start[i], -1.0});
      for (int d = 0; d < k; ++d)
        if (L.x[i][d] >= 0) row.push_back({L.x[i][d], -pr.cost_us(i, d)});
    };
    std::vector<std::pair<int, double>> plain;
    completion(plain);
    m.add_row(plain, 0, kInf);
    for (int a = 0; a < k; ++a) {
      if (L.x[i][a] < 0) continue;
      std::vector<std::pair<int, double>> row;
      completion(row);
      double coef_xia = 0, rhs = 0;
      bool any = false;
      for (int b = 0; b < k; ++b) {
        if (b == a || L.x[j][b] < 0) continue;
        double c = pr.comm_us(e, a, b);
        if (!std::isfinite(c)) {
          m.add_row({{L.x[i][a], 1.0}, {L.x[j][b], 1.0}}, -kInf, 1);  // no link: not both
          continue;
        }
        if (c <= 0) continue;
        any = true;
        row.push_back({L.x[j][b], -c});
        coef_xia -= c;
        rhs -= c;
      }
      if (!any) continue;
      row.push_back({L.x[i][a], coef_xia});
      m.add_row(row, rhs, kInf);
    }
  }
  // No overlap, only for pairs the closure leaves unordered, only on devices both can use.
  auto reach = closure(g);
  std::vector<int> pos(n);
  for (int t = 0; t < n; ++t) pos[g.topo_order()[t]] = t;
  for (int i = 0; i < n; ++i) {
    if (deadline != std::chrono::steady_clock::time_point::max() && std::chrono::steady_clock::now() > deadline) {
      L.incomplete = true;
      return L;
    }
    for (int j = i + 1; j < n; ++j) {
      if (reaches(reach, i, j) || reaches(reach, j, i)) continue;
      bool share = false;
      for (int d = 0; d < k && !share; ++d) share = L.x[i][d] >= 0 && L.x[j][d] >= 0;
      if (!share) continue;
      int dij = m.add_var(0, 1, 0, true, "d_" + std::to_string(i) + "_" + std::to_string(j));
      L.order.push_back({dij, i, j});
      for (int d = 0; d < k; ++d) {
        int xi = L.x[i][d], xj = L.x[j][d];
        if (xi < 0 || xj < 0) continue;
        // d = 1: i before j. S_j >= S_i + p_id - M(1 - d) - M(2 - x_id - x_jd), with the
        // smallest M that relaxes the row for every start the bounds allow.
        double mi = std::max(0.0, s_hi[i] + pr.cost_us(i, d) - s_lo[j]);
        double mj = std::max(0.0, s_hi[j] + pr.cost_us(j, d) - s_lo[i]);
        m.add_row({{L.start[j], 1.0}, {L.start[i], -1.0}, {dij, -mi}, {xi, -mi}, {xj, -mi}}, pr.cost_us(i, d) - 3 * mi,
                  kInf);
        // d = 0: j before i. S_i >= S_j + p_jd - M d - M(2 - x_id - x_jd).
        m.add_row({{L.start[i], 1.0}, {L.start[j], -1.0}, {dij, mj}, {xi, -mj}, {xj, -mj}}, pr.cost_us(j, d) - 2 * mj,
                  kInf);
      }
    }
  }
  // Memory capacities.
  for (int d = 0; d < k; ++d) {
    if (!std::isfinite(pr.capacity_bytes(d))) continue;
    std::vector<std::pair<int, double>> row;
    double total = 0;
    for (int i = 0; i < n; ++i)
      if (L.x[i][d] >= 0 && pr.resident_bytes(i) > 0) {
        row.push_back({L.x[i][d], pr.resident_bytes(i)});
        total += pr.resident_bytes(i);
      }
    if (total > pr.capacity_bytes(d)) m.add_row(row, -kInf, pr.capacity_bytes(d));
  }
  // Symmetry: between consecutive devices of a class of identical ones, an order that every
  // plan has an image in (apply canonical_permutation): the earlier device runs an earlier
  // first node (inputs: a node may use the later device only if an earlier node in
  // topological order uses the earlier one), or at least as many nodes (ops), or at least as
  // much busy time (busy).
  if (symmetry != SymmetryRule::kNone) {
    const std::vector<int>& topo = g.topo_order();
    for (const std::vector<int>& group : identical_groups(pr))
      for (size_t j = 0; j + 1 < group.size(); ++j) {
        const int a = group[j], b = group[j + 1];
        if (symmetry == SymmetryRule::kInputs) {
          std::vector<std::pair<int, double>> earlier;  // x[u][a] for u before v
          for (int v : topo) {
            if (L.x[v][b] >= 0) {
              std::vector<std::pair<int, double>> row = earlier;
              row.push_back({L.x[v][b], -1.0});
              m.add_row(row, 0, kInf);
            }
            if (L.x[v][a] >= 0) earlier.push_back({L.x[v][a], 1.0});
          }
        } else {
          std::vector<std::pair<int, double>> row;
          for (int i = 0; i < n; ++i) {
            const double w = symmetry == SymmetryRule::kOps ? 1.0 : pr.cost_us(i, a);
            if (w <= 0) continue;
            if (L.x[i][a] >= 0) row.push_back({L.x[i][a], w});
            if (L.x[i][b] >= 0) row.push_back({L.x[i][b], -w});
          }
          if (!row.empty()) m.add_row(row, 0, kInf);
        }
      }
  }
  // MIP start from the incumbent.
  if (inc) {
    m.start.assign(m.num_vars(), 0.0);
    for (const Placement& p : inc->placements) {
      if (L.x[p.node][p.device] >= 0) m.start[L.x[p.node][p.device]] = 1.0;
      m.start[L.start[p.node]] = p.start_us;
    }
    m.start[L.cmax] = inc->makespan_us;
    for (const auto& o : L.order) {
      const Placement &a = inc->placements[o.first], &b = inc->placements[o.second];
      bool first = a.start_us < b.start_us || (a.start_us == b.start_us && pos[o.first] < pos[o.second]);
      m.start[o.column] = first ? 1.0 : 0.0;
    }
  }
  return L;
}

Mapping mapping_from_solution(const Problem& pr, const LatencyMilp& L, const std::vector<double>& x) {
  const int n = pr.num_nodes(), k = pr.num_devices();
  std::vector<int> device(n, -1);
  std::vector<double> start(n, 0.0);
  for (int i = 0; i < n; ++i) {
    double best = -1;
    for (int d = 0; d < k; ++d)
      if (L.x[i][d] >= 0 && x[L.x[i][d]] > best) best = x[L.x[i][d]], device[i] = d;
    start[i] = x[L.start[i]];
  }
  // By interval midpoints in a precedence-consistent list: CBC's starts carry tolerances, and
  // a zero-length op tied with a longer one must go first (sorting by start alone loses that).
  return mapping_from_times(pr, device, start);
}

}  // namespace diviml
