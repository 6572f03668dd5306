#include "diviml/objective/lower_bound.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "diviml/milp/milp.hpp"

namespace diviml {

HeadTail heads_and_tails(const Problem& pr) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  HeadTail ht;
  ht.head.assign(static_cast<size_t>(n) * k, kInf);
  ht.tail.assign(static_cast<size_t>(n) * k, kInf);
  const auto& topo = g.topo_order();
  for (int v : topo)
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(v, d)) continue;
      double ready = pr.input_us(v, d);
      for (int e : g.in_edges(v)) {
        int u = g.edges[e].src;
        double best = kInf;
        for (int l = 0; l < k; ++l) best = std::min(best, ht.head[u * k + l] + pr.cost_us(u, l) + pr.comm_us(e, l, d));
        ready = std::max(ready, best);
      }
      ht.head[v * k + d] = ready;
    }
  for (auto it = topo.rbegin(); it != topo.rend(); ++it) {
    int v = *it;
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(v, d)) continue;
      double after = pr.output_us(v, d);
      for (int e : g.out_edges(v)) {
        int w = g.edges[e].dst;
        double best = kInf;
        for (int l = 0; l < k; ++l) best = std::min(best, pr.comm_us(e, d, l) + ht.tail[w * k + l]);
        after = std::max(after, best);
      }
      ht.tail[v * k + d] = pr.cost_us(v, d) + after;
    }
  }
  return ht;
}

double critical_path_bound_us(const Problem& pr) {
  const int n = pr.num_nodes(), k = pr.num_devices();
  HeadTail ht = heads_and_tails(pr);
  double bound = 0;
  for (int v = 0; v < n; ++v) {
    double best = kInf;
    for (int d = 0; d < k; ++d) best = std::min(best, ht.head[v * k + d] + ht.tail[v * k + d]);
    bound = std::max(bound, best);
  }
  return std::isfinite(bound) ? bound : 0.0;
}

double average_work_bound_us(const Problem& pr) {
  double work = 0;
  for (int v = 0; v < pr.num_nodes(); ++v) {
    double best = kInf;
    for (int d = 0; d < pr.num_devices(); ++d) best = std::min(best, pr.cost_us(v, d));
    work += best;
  }
  return work / pr.num_devices();
}

double work_bound_for_weights_us(const Problem& pr, const std::vector<double>& weight) {
  const int n = pr.num_nodes(), k = pr.num_devices();
  double total = 0;
  for (int d = 0; d < k; ++d) total += std::max(0.0, weight[d]);
  if (!(total > 0) || !std::isfinite(total)) return 0.0;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    double best = kInf;
    for (int d = 0; d < k; ++d)
      if (pr.can_run(i, d)) best = std::min(best, std::max(0.0, weight[d]) / total * pr.cost_us(i, d));
    if (std::isfinite(best)) sum += best;
  }
  return sum;
}

double ascent_work_bound_us(const Problem& pr, int iterations, double at_least) {
  const int n = pr.num_nodes(), k = pr.num_devices();
  // Per node, its finite costs (device, cost), flat.
  std::vector<int> begin(n + 1, 0), device;
  std::vector<double> cost;
  std::vector<double> load(k, 0.0);  // per device: the work of the nodes it runs fastest
  for (int i = 0; i < n; ++i) {
    int fastest = -1;
    for (int d = 0; d < k; ++d)
      if (pr.can_run(i, d)) {
        device.push_back(d);
        cost.push_back(pr.cost_us(i, d));
        if (fastest < 0 || pr.cost_us(i, d) < pr.cost_us(i, fastest)) fastest = d;
      }
    begin[i + 1] = static_cast<int>(device.size());
    if (fastest >= 0) load[fastest] += pr.cost_us(i, fastest);
  }
  // Every weighting's bound is at most the LP's value, which is at most the busiest device's
  // load when each node runs on its fastest device: where that cannot beat `at_least`, stop.
  if (*std::max_element(load.begin(), load.end()) <= at_least) return average_work_bound_us(pr);
  std::vector<double> w(k, 1.0 / k), best_w = w, grad(k);
  double best = -1;
  int stale = 0;
  for (int it = 0; it <= iterations; ++it) {
    // f(w) = sum_i min_k w_k p_ik and a supergradient: per device, the work of the nodes whose
    // minimum it attains.
    double f = 0;
    std::fill(grad.begin(), grad.end(), 0.0);
    for (int i = 0; i < n; ++i) {
      double low = kInf;
      int arg = -1;
      for (int c = begin[i]; c < begin[i + 1]; ++c)
        if (w[device[c]] * cost[c] < low) low = w[device[c]] * cost[c], arg = c;
      if (arg < 0) continue;
      f += low;
      grad[device[arg]] += cost[arg];
    }
    if (f > best * (1 + 1e-9)) {
      best = f, best_w = w, stale = 0;
    } else if (++stale >= 200) {
      break;  // no progress for 200 steps: close enough (the result is sound regardless)
    }
    if (!(f > 0)) break;
    // Exponentiated-gradient step on the simplex, shrinking as 1/sqrt(t).
    const double step = 1.0 / std::sqrt(1.0 + it);
    double total = 0;
    for (int d = 0; d < k; ++d) total += w[d] *= std::exp(std::min(50.0, step * grad[d] / f));
    for (int d = 0; d < k; ++d) w[d] /= total;
  }
  // The best weighting, evaluated exactly (normalised, clamped): sound whatever the ascent did.
  return std::max(average_work_bound_us(pr), work_bound_for_weights_us(pr, best_w));
}

double lp_work_bound_us(const Problem& pr, double time_limit_s) {
  const int n = pr.num_nodes(), k = pr.num_devices();
  double bound = average_work_bound_us(pr);  // the uniform weights
  if (time_limit_s <= 0) return bound;
  MilpModel m;
  const int t = m.add_var(0, kInf, 1.0, false, "t");
  std::vector<std::vector<std::pair<int, double>>> load(k);
  for (int i = 0; i < n; ++i) {
    std::vector<std::pair<int, double>> assign;
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(i, d)) continue;
      int y = m.add_var(0, 1, 0, false);
      assign.push_back({y, 1.0});
      if (pr.cost_us(i, d) > 0) load[d].push_back({y, pr.cost_us(i, d)});
    }
    m.add_row(std::move(assign), 1, 1);
  }
  std::vector<int> load_row(k, -1);
  for (int d = 0; d < k; ++d) {
    if (load[d].empty()) continue;
    load[d].push_back({t, -1.0});
    load_row[d] = m.num_rows();
    m.add_row(std::move(load[d]), -kInf, 0);
  }
  MilpOptions opt;
  opt.relax = true;
  opt.time_limit_s = time_limit_s;
  auto r = make_cbc_backend()->solve(m, opt);
  if (!r || r->row_duals.empty()) return bound;
  // The LP's value is not taken on trust (simplex tolerances, a limit that stopped it): its
  // load-row duals are device weights, and the weighted bound is evaluated exactly.
  std::vector<double> weight(k, 0.0);
  for (int d = 0; d < k; ++d)
    if (load_row[d] >= 0) weight[d] = std::abs(r->row_duals[load_row[d]]);
  return std::max(bound, work_bound_for_weights_us(pr, weight));
}

double lower_bound_us(const Problem& pr, double lp_time_limit_s) {
  return std::max({critical_path_bound_us(pr), average_work_bound_us(pr), lp_work_bound_us(pr, lp_time_limit_s)});
}

}  // namespace diviml
