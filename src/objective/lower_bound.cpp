#include "diviml/objective/lower_bound.hpp"

#include <algorithm>
#include <chrono>
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

namespace {

// The fractional load LP (see lower_bound.hpp) by column generation over whole assignments.
// The LP's loads are the convex hull of the integral assignments' load vectors, so the master
// mixes J of them: min t s.t. sum_j lambda_j = 1, sum_j lambda_j L_jd <= t per device (k + 1
// rows, J columns: tiny, in CLP). Its load-row duals are device weights w; the pricing is
// f(w) = sum_i min_d w_d p_id, whose argmin assignment is the next column. Every f(w) is a
// valid bound on its own (weak duality), evaluated exactly here; the master's t bounds the LP
// from above, so the loop stops when the two meet (the LP's optimum), at `max_columns`, or at
// `deadline`. Each step is O(n k) plus the master: any size, no n x k LP.
class WorkColumns {
 public:
  explicit WorkColumns(const Problem& pr) : pr_(pr), n_(pr.num_nodes()), k_(pr.num_devices()) {
    for (int i = 0; i < n_; ++i) {
      int fastest = -1;
      for (int d = 0; d < k_; ++d)
        if (pr.can_run(i, d) && (fastest < 0 || pr.cost_us(i, d) < pr.cost_us(i, fastest))) fastest = d;
      fastest_.push_back(fastest);
    }
  }

  // f(w) for weights w >= 0 (normalised here), and the loads of its argmin assignment.
  double price(const std::vector<double>& w, std::vector<double>* loads) const {
    double total = 0;
    for (int d = 0; d < k_; ++d) total += std::max(0.0, w[d]);
    if (loads) loads->assign(k_, 0.0);
    if (!(total > 0) || !std::isfinite(total)) return 0.0;
    double f = 0;
    for (int i = 0; i < n_; ++i) {
      if (fastest_[i] < 0) continue;
      // Ties (a zero weight) go to the smaller cost, so columns stay sensible.
      int arg = -1;
      double low = kInf;
      for (int d = 0; d < k_; ++d) {
        if (!pr_.can_run(i, d)) continue;
        const double c = std::max(0.0, w[d]) / total * pr_.cost_us(i, d);
        if (c < low || (c == low && arg >= 0 && pr_.cost_us(i, d) < pr_.cost_us(i, arg))) low = c, arg = d;
      }
      f += low;
      if (loads) (*loads)[arg] += pr_.cost_us(i, arg);
    }
    return f;
  }

  double solve(int max_columns, double time_limit_s, double at_least) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(std::min(time_limit_s, 1e9)));
    std::vector<double> w(k_, 1.0 / k_);
    double bound = price(w, nullptr);  // the average work bound
    // Starting columns: every node on its fastest device; every node on device d where it can run.
    std::vector<std::vector<double>> columns(1, std::vector<double>(k_, 0.0));
    for (int i = 0; i < n_; ++i)
      if (fastest_[i] >= 0) columns[0][fastest_[i]] += pr_.cost_us(i, fastest_[i]);
    // No weighting beats the busiest device of the all-fastest assignment: nothing to gain.
    if (*std::max_element(columns[0].begin(), columns[0].end()) <= at_least) return bound;
    for (int d = 0; d < k_; ++d) {
      std::vector<double> load(k_, 0.0);
      for (int i = 0; i < n_; ++i)
        if (fastest_[i] >= 0) {
          const int on = pr_.can_run(i, d) ? d : fastest_[i];
          load[on] += pr_.cost_us(i, on);
        }
      columns.push_back(std::move(load));
    }
    const auto backend = make_cbc_backend();
    while (static_cast<int>(columns.size()) < max_columns && Clock::now() < deadline) {
      MilpModel m;
      const int t = m.add_var(0, kInf, 1.0, false, "t");
      std::vector<std::pair<int, double>> convex;
      std::vector<std::vector<std::pair<int, double>>> rows(k_);
      for (const auto& col : columns) {
        const int lambda = m.add_var(0, 1, 0, false);
        convex.push_back({lambda, 1.0});
        for (int d = 0; d < k_; ++d)
          if (col[d] > 0) rows[d].push_back({lambda, col[d]});
      }
      m.add_row(std::move(convex), 1, 1);
      std::vector<int> row_of(k_, -1);
      for (int d = 0; d < k_; ++d) {
        rows[d].push_back({t, -1.0});
        row_of[d] = m.num_rows();
        m.add_row(std::move(rows[d]), -kInf, 0);
      }
      MilpOptions opt;
      opt.relax = true;
      opt.time_limit_s = std::max(0.01, std::chrono::duration<double>(deadline - Clock::now()).count());
      auto r = backend->solve(m, opt);
      if (!r || r->row_duals.empty() || !std::isfinite(r->objective)) break;
      for (int d = 0; d < k_; ++d) w[d] = std::abs(r->row_duals[row_of[d]]);
      std::vector<double> loads;
      const double f = price(w, &loads);
      bound = std::max(bound, f);
      // The master's value bounds the LP from above: met, the LP's optimum is reached.
      if (f >= r->objective * (1 - 1e-7) || bound >= r->objective * (1 - 1e-7)) break;
      columns.push_back(std::move(loads));
    }
    return bound;
  }

 private:
  const Problem& pr_;
  const int n_, k_;
  std::vector<int> fastest_;  // per node: its fastest device (-1: none)
};

}  // namespace

double ascent_work_bound_us(const Problem& pr, int iterations, double at_least) {
  return std::max(average_work_bound_us(pr), WorkColumns(pr).solve(iterations, kInf, at_least));
}

double lp_work_bound_us(const Problem& pr, double time_limit_s) {
  const double bound = average_work_bound_us(pr);  // the uniform weights
  if (time_limit_s <= 0) return bound;
  return std::max(bound, WorkColumns(pr).solve(1000, time_limit_s, 0));
}

double lower_bound_us(const Problem& pr, double lp_time_limit_s) {
  return std::max({critical_path_bound_us(pr), average_work_bound_us(pr), lp_work_bound_us(pr, lp_time_limit_s)});
}

}  // namespace diviml
