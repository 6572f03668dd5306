#include "diviml/simulate/rebalance.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "diviml/solvers/partition.hpp"

namespace diviml {

Result<Problem> perturbed(const Problem& profile, const Perturbation& p) {
  const int n = profile.num_nodes(), k = profile.num_devices();
  if (!p.slowdown.empty() && static_cast<int>(p.slowdown.size()) != k)
    return fail("perturbation: " + std::to_string(p.slowdown.size()) + " slowdowns for " + std::to_string(k) +
                " devices");
  for (double f : p.slowdown)
    if (!std::isfinite(f) || f <= 0) return fail("perturbation: a slowdown must be a positive number");
  if (!std::isfinite(p.noise) || p.noise < 0 || p.noise > 2) return fail("perturbation: noise must be in [0, 2]");
  Graph g = profile.graph();
  std::mt19937_64 rng(p.seed);
  // Mean-one log-normal: exp(N(-s^2/2, s)).
  std::normal_distribution<double> z(-0.5 * p.noise * p.noise, p.noise);
  for (int v = 0; v < n; ++v) {
    Node& node = g.nodes[v];
    node.cost_us.clear();
    for (int d = 0; d < k; ++d) {
      const std::string& dev = profile.platform().devices[d].name;
      const double c = profile.cost_us(v, d);
      const double factor = (p.slowdown.empty() ? 1.0 : p.slowdown[d]) * (p.noise > 0 ? std::exp(z(rng)) : 1.0);
      node.cost_us[dev] = std::isfinite(c) ? std::optional<double>(c * factor) : std::nullopt;
    }
  }
  return Problem::build(std::move(g), profile.platform());
}

Result<RebalanceResult> rebalance(const Problem& profile, const Problem& truth, const Mapping& start,
                                  const SolveContext& ctx, int epochs) {
  const Objective& objective = *ctx.objective;
  const Graph& g = profile.graph();
  const int n = profile.num_nodes(), k = profile.num_devices();
  if (static_cast<int>(start.device.size()) != n)
    return usage_error("rebalance: plans with several lanes are not rebalanced (one lane only)");
  RebalanceResult r;
  Result<Plan> planned = objective.evaluate(profile, start);
  if (!planned) return planned.error();
  r.predicted = objective.value(*planned);
  const Units units = partition_units(profile);
  std::vector<double> unit_bytes(units.size(), 0.0);
  for (int u = 0; u < units.size(); ++u)
    for (int v : units.members[u]) unit_bytes[u] += profile.resident_bytes(v);
  Mapping current = start, best = start;
  double best_value = kInf;
  std::set<std::pair<int, int>> tabu;  // (unit, device) moves that made it worse
  std::pair<int, int> last_move{-1, -1};
  for (int epoch = 0; epoch < epochs && !ctx.stopped(); ++epoch) {
    Result<Plan> run = objective.evaluate(truth, current);
    if (!run) return run.error();
    const double value = objective.value(*run);
    ++r.epochs;
    if (epoch == 0) r.unbalanced = value;
    if (value < best_value * (1 - 1e-9)) {
      best_value = value;
      best = current;
    } else if (last_move.first >= 0) {  // the last move did not help: back to the best decision
      tabu.insert(last_move);
      current = best;
      ++r.rollbacks;
      r.log.push_back("epoch " + std::to_string(epoch) + ": " + std::to_string(value) + " after moving unit of '" +
                      g.nodes[units.members[last_move.first].front()].id + "': rolled back");
    }
    // What the runtime measured: busy time and slowdown per device.
    std::vector<double> busy(k, 0.0), profiled(k, 0.0);
    for (int v = 0; v < n; ++v) {
      busy[current.device[v]] += truth.cost_us(v, current.device[v]);
      profiled[current.device[v]] += profile.cost_us(v, current.device[v]);
    }
    std::vector<double> slow(k, 1.0), mem(k, 0.0);
    for (int d = 0; d < k; ++d)
      if (profiled[d] > 0) slow[d] = busy[d] / profiled[d];
    for (int v = 0; v < n; ++v) mem[current.device[v]] += profile.resident_bytes(v);
    const int s = static_cast<int>(std::max_element(busy.begin(), busy.end()) - busy.begin());
    // The best boundary move off the busiest device. Boundary: the unit exchanges a tensor with
    // the other device. A device that shares no tensor with any other (a plan on one device)
    // has no boundary: then any of its units may go to any device (measured, and rolled back
    // when the transfers it adds cost more than the work it takes off).
    int move_unit = -1, move_to = -1;
    double move_max = busy[s] * (1 - 1e-9), move_cut = -1;
    std::vector<std::vector<double>> toward(units.size());  // per unit on s: bytes to each device
    bool boundary = false;
    for (int u = 0; u < units.size(); ++u) {
      if (current.device[units.members[u].front()] != s) continue;
      toward[u].assign(k, 0.0);
      for (int v : units.members[u]) {
        for (int e : g.in_edges(v))
          if (const int d = current.device[g.edges[e].src]; d != s) toward[u][d] += g.edges[e].bytes + 1;
        for (int e : g.out_edges(v))
          if (const int d = current.device[g.edges[e].dst]; d != s) toward[u][d] += g.edges[e].bytes + 1;
      }
      for (int d = 0; d < k; ++d) boundary = boundary || toward[u][d] > 0;
    }
    if (!boundary)
      for (auto& t : toward)
        if (!t.empty())
          for (int d = 0; d < k; ++d) t[d] = d == s ? 0.0 : 1.0;
    for (int u = 0; u < units.size(); ++u) {
      if (toward[u].empty()) continue;
      double here = 0;
      for (int v : units.members[u]) here += truth.cost_us(v, s);
      for (int t = 0; t < k; ++t) {
        if (t == s || toward[u][t] <= 0 || tabu.count({u, t}) || !unit_runs(profile, units, u, t)) continue;
        if (mem[t] + unit_bytes[u] > profile.capacity_bytes(t)) continue;
        double there = 0;
        for (int v : units.members[u]) there += profile.cost_us(v, t) * slow[t];
        double worst = std::max(busy[s] - here, busy[t] + there);
        for (int d = 0; d < k; ++d)
          if (d != s && d != t) worst = std::max(worst, busy[d]);
        if (worst < move_max * (1 - 1e-9) ||
            (worst <= move_max * (1 + 1e-9) && toward[u][t] > move_cut && move_unit >= 0)) {
          move_max = worst, move_unit = u, move_to = t, move_cut = toward[u][t];
        }
      }
    }
    if (move_unit < 0) break;  // no move the measurements say would help
    std::vector<int> device = current.device;
    for (int v : units.members[move_unit]) device[v] = move_to;
    Result<SolverOutput> next = decision_for(profile, ctx, units, device, "rebalance");
    if (!next) {
      tabu.insert({move_unit, move_to});
      last_move = {-1, -1};
      continue;
    }
    current = std::move(next->mapping);
    last_move = {move_unit, move_to};
    ++r.moves;
    r.log.push_back("epoch " + std::to_string(epoch) + ": " + std::to_string(value) + "; moved unit of '" +
                    g.nodes[units.members[move_unit].front()].id + "' (" +
                    std::to_string(units.members[move_unit].size()) + " ops) from '" +
                    profile.platform().devices[s].name + "' to '" + profile.platform().devices[move_to].name + "'");
  }
  // The last move is measured too, when the epochs ran out after it.
  if (last_move.first >= 0 && r.epochs == epochs) {
    if (Result<Plan> run = objective.evaluate(truth, current); run && objective.value(*run) < best_value) {
      best_value = objective.value(*run);
      best = current;
    }
  }
  r.rebalanced = best_value;
  r.mapping = best;
  return r;
}

}  // namespace diviml
