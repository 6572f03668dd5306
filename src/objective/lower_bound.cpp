#include "diviml/objective/lower_bound.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#include "diviml/milp/milp.hpp"

namespace diviml {

namespace {

// Up to this many nodes the heads and tails also carry the load of a node's ancestors and
// descendants (an n x n reachability closure).
constexpr int kLoadHeadTailNodes = 500;
constexpr int kLoadHeadTailDevices = 8;
// Beyond this many related nodes the load part leaves out the other devices' load (it is
// quadratic in them).
constexpr size_t kMixedItems = 150;

// The load part of a head or tail (see lower_bound.hpp). Items are a node's ancestors (for a
// head) or descendants (for a tail) with: `leave`, the time it adds if it runs off d (its
// earliest end elsewhere plus the cheapest transfer onto d, or the cheapest transfer off d plus
// its tail elsewhere; +inf: it runs nowhere else); `keep`, its cost on d (+inf: it cannot run
// there); `away`, its weighted cost on the other devices (sum_d' w_d' p(u, d') at the best
// d', weights summing to 1). Those that stay on d load it; those that leave make the time at
// least their largest leave, and load the other devices after (before) the cheapest transfer
// `hop`: the weighted mean of those loads is at least the sum of their aways. The result is the
// least, over which nodes leave, of max(sum of keeps, largest leave, hop + sum of aways), with
// the last two relaxed (the aways mixed fractionally, greedily by keep per away), so never
// above the true least: a lower bound.
struct LoadItem {
  double leave, keep, away;
};
double load_part(std::vector<LoadItem>& items, double hop) {
  double forced = 0, forced_away = 0, total = 0;
  bool any_forced = false;
  std::vector<LoadItem> optional;
  for (const LoadItem& it : items) {
    if (!std::isfinite(it.keep)) {
      any_forced = true;
      forced = std::max(forced, it.leave);
      forced_away += it.away;
    } else {
      total += it.keep;
      if (std::isfinite(it.leave)) optional.push_back(it);
    }
  }
  const double start = hop + forced_away;  // the other devices' load once anything leaves
  // Nothing optional leaves.
  double best = std::max({total, forced, any_forced ? start : 0.0});
  std::sort(optional.begin(), optional.end(), [](const LoadItem& a, const LoadItem& b) { return a.leave < b.leave; });
  if (optional.size() > kMixedItems) {
    // Large: the cheaper form without the other devices' load.
    double kept = total;
    for (const LoadItem& it : optional) {
      kept -= it.keep;
      best = std::min(best, std::max(kept, std::max(forced, it.leave)));
    }
    return best;
  }
  // By keep / away, descending (away 0 first): the fractional knapsack's order.
  std::vector<int> by_ratio(optional.size());
  for (size_t i = 0; i < optional.size(); ++i) by_ratio[i] = static_cast<int>(i);
  std::sort(by_ratio.begin(), by_ratio.end(),
            [&](int a, int b) { return optional[a].keep * optional[b].away > optional[b].keep * optional[a].away; });
  // The nodes up to leave rank `upto` may leave (a threshold on the largest leave): the least
  // over fractions x of max(total - sum x keep, start + sum x away).
  for (size_t upto = 1; upto <= optional.size(); ++upto) {
    const double threshold = std::max(forced, optional[upto - 1].leave);
    if (threshold >= best) break;  // leaves only grow from here
    double kept = total, moved = start, mix = std::max(total, start);
    for (int i : by_ratio) {
      if (static_cast<size_t>(i) >= upto) continue;
      const LoadItem& it = optional[i];
      if (kept - it.keep >= moved + it.away) {
        kept -= it.keep;
        moved += it.away;
        mix = std::min(mix, std::max(kept, moved));
        continue;
      }
      const double x = std::max(0.0, (kept - moved) / (it.keep + it.away));
      mix = std::min(mix, std::max(kept - x * it.keep, moved + x * it.away));
      break;
    }
    best = std::min(best, std::max(threshold, mix));
  }
  return best;
}

}  // namespace

HeadTail heads_and_tails(const Problem& pr) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  HeadTail ht;
  ht.head.assign(static_cast<size_t>(n) * k, kInf);
  ht.tail.assign(static_cast<size_t>(n) * k, kInf);
  const auto& topo = g.topo_order();
  // Reachability (small graphs): anc[v] / desc[v] as bitsets over nodes.
  const bool loads = n <= kLoadHeadTailNodes && k > 1 && k <= kLoadHeadTailDevices;
  const size_t words = (static_cast<size_t>(n) + 63) / 64;
  std::vector<std::uint64_t> anc, desc;
  auto has = [&](const std::vector<std::uint64_t>& bits, int v, int u) {
    return (bits[v * words + u / 64] >> (u % 64)) & 1;
  };
  // The cheapest transfer of edge e from device a to another device (to_other) or from another
  // device to b (from_other).
  auto to_other = [&](int e, int a) {
    double c = kInf;
    for (int b = 0; b < k; ++b)
      if (b != a) c = std::min(c, pr.comm_us(e, a, b));
    return c;
  };
  auto from_other = [&](int e, int b) {
    double c = kInf;
    for (int a = 0; a < k; ++a)
      if (a != b) c = std::min(c, pr.comm_us(e, a, b));
    return c;
  };
  // Per node and device: the cheapest transfer onto d of an edge into it, and off d of an edge
  // out of it.
  std::vector<double> into_min, out_min;
  if (loads) {
    into_min.assign(static_cast<size_t>(n) * k, kInf);
    out_min.assign(static_cast<size_t>(n) * k, kInf);
    for (int e = 0; e < g.num_edges(); ++e)
      for (int d = 0; d < k; ++d) {
        double& in = into_min[g.edges[e].dst * k + d];
        in = std::min(in, from_other(e, d));
        double& out = out_min[g.edges[e].src * k + d];
        out = std::min(out, to_other(e, d));
      }
    anc.assign(static_cast<size_t>(n) * words, 0);
    desc.assign(static_cast<size_t>(n) * words, 0);
    for (int v : topo)
      for (int e : g.in_edges(v)) {
        const int u = g.edges[e].src;
        for (size_t w = 0; w < words; ++w) anc[v * words + w] |= anc[u * words + w];
        anc[v * words + u / 64] |= std::uint64_t{1} << (u % 64);
      }
    for (auto it = topo.rbegin(); it != topo.rend(); ++it)
      for (int e : g.out_edges(*it)) {
        const int w = g.edges[e].dst;
        for (size_t x = 0; x < words; ++x) desc[*it * words + x] |= desc[w * words + x];
        desc[*it * words + w / 64] |= std::uint64_t{1} << (w % 64);
      }
  }
  std::vector<LoadItem> items;
  // Per device d, weights over the other devices (1 / their total work, normalised): a node's
  // `away` is its least weighted cost off d (see load_part).
  std::vector<double> away;
  if (loads) {
    std::vector<double> work(k, 0.0);
    for (int u = 0; u < n; ++u)
      for (int l = 0; l < k; ++l)
        if (pr.can_run(u, l)) work[l] += pr.cost_us(u, l);
    away.assign(static_cast<size_t>(n) * k, 0.0);
    for (int d = 0; d < k; ++d) {
      std::vector<double> w(k, 0.0);
      double sum = 0;
      for (int l = 0; l < k; ++l)
        if (l != d && work[l] > 0) sum += (w[l] = 1.0 / work[l]);
      for (int u = 0; u < n; ++u) {
        double least = kInf;
        for (int l = 0; l < k; ++l)
          if (l != d && pr.can_run(u, l)) least = std::min(least, sum > 0 ? w[l] / sum * pr.cost_us(u, l) : 0.0);
        away[u * k + d] = std::isfinite(least) ? least : 0.0;
      }
    }
  }
  // The load part of v's head or tail on d (see load_part): `related` holds v's ancestors (or
  // descendants), `hop_of` per node and device the cheapest transfer onto (off) d of an edge
  // into (out of) that node, and `elsewhere(u)` the time u adds, besides the hop, when it runs
  // off d.
  std::vector<int> related;
  auto collect = [&](const std::vector<std::uint64_t>& bits, int v) {
    related.clear();
    for (int u = 0; u < n && loads; ++u)
      if (has(bits, v, u)) related.push_back(u);
  };
  auto load_bound = [&](int v, int d, const std::vector<double>& hop_of, auto&& elsewhere) {
    double hop = hop_of[v * k + d];
    for (int u : related) hop = std::min(hop, hop_of[u * k + d]);
    items.clear();
    for (int u : related)
      items.push_back({elsewhere(u) + hop, pr.can_run(u, d) ? pr.cost_us(u, d) : kInf, away[u * k + d]});
    return load_part(items, hop);
  };
  for (int v : topo) {
    collect(anc, v);
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(v, d)) continue;
      double ready = pr.input_us(v, d);
      for (int e : g.in_edges(v)) {
        int u = g.edges[e].src;
        double best = kInf;
        for (int l = 0; l < k; ++l) best = std::min(best, ht.head[u * k + l] + pr.cost_us(u, l) + pr.comm_us(e, l, d));
        ready = std::max(ready, best);
      }
      if (loads) {
        // Every ancestor that runs on d ends before v starts there; one that runs elsewhere
        // sends something, on some path to v, onto d: at least its earliest end elsewhere plus
        // the cheapest transfer onto d of an edge into v or into one of its ancestors.
        ready = std::max(ready, load_bound(v, d, into_min, [&](int u) {
                           double end = kInf;
                           for (int l = 0; l < k; ++l)
                             if (l != d && pr.can_run(u, l)) end = std::min(end, ht.head[u * k + l] + pr.cost_us(u, l));
                           return end;
                         }));
      }
      ht.head[v * k + d] = ready;
    }
  }
  for (auto it = topo.rbegin(); it != topo.rend(); ++it) {
    int v = *it;
    collect(desc, v);
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(v, d)) continue;
      double after = pr.output_us(v, d);
      for (int e : g.out_edges(v)) {
        int w = g.edges[e].dst;
        double best = kInf;
        for (int l = 0; l < k; ++l) best = std::min(best, pr.comm_us(e, d, l) + ht.tail[w * k + l]);
        after = std::max(after, best);
      }
      if (loads) {
        // Every descendant that runs on d starts after v ends there; one that runs elsewhere
        // gets something, on some path from v, off d: at least the cheapest transfer off d of
        // an edge out of v or out of one of its descendants, then its tail elsewhere.
        after = std::max(after, load_bound(v, d, out_min, [&](int w) {
                           double rest = kInf;
                           for (int l = 0; l < k; ++l)
                             if (l != d && pr.can_run(w, l)) rest = std::min(rest, ht.tail[w * k + l]);
                           return rest;
                         }));
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
  // One budget for both LPs: the path's gets what the work LP left.
  const auto t0 = std::chrono::steady_clock::now();
  const double bound =
      std::max({critical_path_bound_us(pr), average_work_bound_us(pr), lp_work_bound_us(pr, lp_time_limit_s, true)});
  const double left = lp_time_limit_s - std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::max(bound, module_memory_bound_us(pr, left));
}

}  // namespace diviml
