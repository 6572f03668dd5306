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
  // `memory`: also every device's weights and state within its capacity (see lower_bound.hpp).
  WorkColumns(const Problem& pr, bool memory) : pr_(pr), n_(pr.num_nodes()), k_(pr.num_devices()) {
    for (int i = 0; i < n_; ++i) {
      int fastest = -1;
      for (int d = 0; d < k_; ++d)
        if (pr.can_run(i, d) && (fastest < 0 || pr.cost_us(i, d) < pr.cost_us(i, fastest))) fastest = d;
      fastest_.push_back(fastest);
    }
    for (int d = 0; d < k_ && memory; ++d)
      if (std::isfinite(pr.capacity_bytes(d)) && pr.capacity_bytes(d) > 0) limited_.push_back(d);
  }

  // A column: the loads (and the bytes resident, per device) of one whole assignment.
  struct Column {
    std::vector<double> load, bytes;
  };

  // The bound for load weights w >= 0 and memory prices mu >= 0 (per device, bytes scaled by
  // the capacity): (sum_i min_d (w_d p_id + mu_d m_i / cap_d) - sum_d mu_d) / sum w, and the
  // argmin assignment's column.
  double price(const std::vector<double>& w, const std::vector<double>& mu, Column* col) const {
    double total = 0;
    for (int d = 0; d < k_; ++d) total += std::max(0.0, w[d]);
    if (col) col->load.assign(k_, 0.0), col->bytes.assign(k_, 0.0);
    if (!(total > 0) || !std::isfinite(total)) return 0.0;
    std::vector<double> per_byte(k_, 0.0);
    double charged = 0;
    for (size_t x = 0; x < limited_.size(); ++x) {
      const int d = limited_[x];
      per_byte[d] = std::max(0.0, mu[x]) / pr_.capacity_bytes(d);
      charged += std::max(0.0, mu[x]);
    }
    double f = 0;
    for (int i = 0; i < n_; ++i) {
      if (fastest_[i] < 0) continue;
      const double bytes = pr_.resident_bytes(i);
      // Ties (a zero weight) go to the smaller cost, so columns stay sensible.
      int arg = -1;
      double low = kInf;
      for (int d = 0; d < k_; ++d) {
        if (!pr_.can_run(i, d)) continue;
        const double c = std::max(0.0, w[d]) * pr_.cost_us(i, d) + per_byte[d] * bytes;
        if (c < low || (c == low && arg >= 0 && pr_.cost_us(i, d) < pr_.cost_us(i, arg))) low = c, arg = d;
      }
      f += low;
      if (col) col->load[arg] += pr_.cost_us(i, arg), col->bytes[arg] += bytes;
    }
    return (f - charged) / total;
  }

  // The column of every node on device `d` where it can run, else on its fastest (d < 0: every
  // node on its fastest).
  Column column_on(int d) const {
    Column c;
    c.load.assign(k_, 0.0), c.bytes.assign(k_, 0.0);
    for (int i = 0; i < n_; ++i) {
      if (fastest_[i] < 0) continue;
      const int on = d >= 0 && pr_.can_run(i, d) ? d : fastest_[i];
      c.load[on] += pr_.cost_us(i, on), c.bytes[on] += pr_.resident_bytes(i);
    }
    return c;
  }

  // Whether a column's bytes fit every limited device.
  bool fits(const Column& c) const {
    for (int d : limited_)
      if (c.bytes[d] > pr_.capacity_bytes(d)) return false;
    return true;
  }

  double solve(int max_columns, double time_limit_s, double at_least) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(std::min(time_limit_s, 1e9)));
    std::vector<double> w(k_, 1.0 / k_), mu(limited_.size(), 0.0);
    best_w_ = w;
    double bound = price(w, mu, nullptr);  // the average work bound
    // Starting columns: every node on its fastest device; every node on device d where it can run.
    std::vector<Column> columns(1, column_on(-1));
    // No weighting beats the busiest device of the all-fastest assignment, when that fits:
    // nothing to gain.
    if (*std::max_element(columns[0].load.begin(), columns[0].load.end()) <= at_least && fits(columns[0])) return bound;
    double most = 0;  // the greatest work any assignment can have: a price on overflow above it
    for (int i = 0; i < n_; ++i)
      for (int d = 0; d < k_; ++d)
        if (pr_.can_run(i, d) && std::isfinite(pr_.cost_us(i, d))) most = std::max(most, pr_.cost_us(i, d));
    most *= n_;
    for (int d = 0; d < k_; ++d) columns.push_back(column_on(d));
    const auto backend = make_cbc_backend();
    while (static_cast<int>(columns.size()) < max_columns && Clock::now() < deadline) {
      // min t s.t. sum lambda = 1; per device sum lambda L <= t; per limited device
      // sum lambda M / cap - overflow <= 1, overflow priced above any work (always feasible).
      MilpModel m;
      const int t = m.add_var(0, kInf, 1.0, false, "t");
      std::vector<std::pair<int, double>> convex;
      std::vector<std::vector<std::pair<int, double>>> rows(k_), mem_rows(limited_.size());
      for (const Column& col : columns) {
        const int lambda = m.add_var(0, 1, 0, false);
        convex.push_back({lambda, 1.0});
        for (int d = 0; d < k_; ++d)
          if (col.load[d] > 0) rows[d].push_back({lambda, col.load[d]});
        for (size_t x = 0; x < limited_.size(); ++x)
          if (col.bytes[limited_[x]] > 0)
            mem_rows[x].push_back({lambda, col.bytes[limited_[x]] / pr_.capacity_bytes(limited_[x])});
      }
      m.add_row(std::move(convex), 1, 1);
      std::vector<int> row_of(k_, -1), mem_row_of(limited_.size(), -1);
      for (int d = 0; d < k_; ++d) {
        rows[d].push_back({t, -1.0});
        row_of[d] = m.num_rows();
        m.add_row(std::move(rows[d]), -kInf, 0);
      }
      for (size_t x = 0; x < limited_.size(); ++x) {
        mem_rows[x].push_back({m.add_var(0, kInf, std::max(1.0, 2 * most), false), -1.0});
        mem_row_of[x] = m.num_rows();
        m.add_row(std::move(mem_rows[x]), -kInf, 1);
      }
      MilpOptions opt;
      opt.relax = true;
      opt.time_limit_s = std::max(0.01, std::chrono::duration<double>(deadline - Clock::now()).count());
      auto r = backend->solve(m, opt);
      if (!r || r->row_duals.empty() || !std::isfinite(r->objective)) break;
      for (int d = 0; d < k_; ++d) w[d] = std::abs(r->row_duals[row_of[d]]);
      for (size_t x = 0; x < limited_.size(); ++x) mu[x] = std::abs(r->row_duals[mem_row_of[x]]);
      Column next;
      const double f = price(w, mu, &next);
      if (f > bound) {
        bound = f;
        double total = 0;
        for (double x : w) total += std::max(0.0, x);
        for (int d = 0; d < k_; ++d) best_w_[d] = std::max(0.0, w[d]) / total;
      }
      // The master's value bounds the LP from above: met, the LP's optimum is reached.
      if (f >= r->objective * (1 - 1e-7) || bound >= r->objective * (1 - 1e-7)) break;
      columns.push_back(std::move(next));
    }
    return bound;
  }

  // The load weights (summing to 1) of the best bound the last solve found.
  const std::vector<double>& best_weights() const { return best_w_; }

 private:
  const Problem& pr_;
  const int n_, k_;
  std::vector<double> best_w_;
  std::vector<int> fastest_;  // per node: its fastest device (-1: none)
  std::vector<int> limited_;  // devices whose capacity is checked (memory bound only)
};

}  // namespace

double ascent_work_bound_us(const Problem& pr, int iterations, double at_least, bool memory, double time_limit_s) {
  return std::max(average_work_bound_us(pr), WorkColumns(pr, memory).solve(iterations, time_limit_s, at_least));
}

std::vector<double> work_bound_weights(const Problem& pr, int iterations, double time_limit_s) {
  WorkColumns columns(pr, false);
  columns.solve(iterations, time_limit_s, 0);
  return columns.best_weights();
}

double lp_work_bound_us(const Problem& pr, double time_limit_s, bool memory) {
  const double bound = average_work_bound_us(pr);  // the uniform weights
  if (time_limit_s <= 0) return bound;
  return std::max(bound, WorkColumns(pr, memory).solve(1000, time_limit_s, 0));
}

double lower_bound_us(const Problem& pr, double lp_time_limit_s) {
  return std::max({critical_path_bound_us(pr), average_work_bound_us(pr), lp_work_bound_us(pr, lp_time_limit_s, true)});
}

}  // namespace diviml
