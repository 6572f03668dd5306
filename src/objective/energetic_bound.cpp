// The energetic bound (lower_bound.hpp): a target makespan T is refuted when no fractional
// assignment fits every device's work into the time windows that T leaves.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "diviml/milp/milp.hpp"
#include "diviml/objective/lower_bound.hpp"

namespace diviml {

namespace {

// Skipped when the interval checks of one round would take more than this many window-interval
// pairs (all devices together): about 0.1 s.
constexpr double kMaxPairs = 3e7;
// Row generation: at most this many LP solves per target, and this many violated intervals
// added per device and round.
constexpr int kMaxRounds = 40;
constexpr int kRowsPerRound = 12;

// Where node v may run on device d under target T: start in [release, deadline - cost].
struct Window {
  int node;
  double release, cost, deadline;
};

// The least time a window's node spends inside [a, b] wherever it starts in its window (its
// start as early or as late as allowed).
double energy(const Window& w, double a, double b) {
  return std::max(0.0, std::min({w.cost, b - a, w.release + w.cost - a, b - (w.deadline - w.cost)}));
}

class EnergeticTest {
 public:
  explicit EnergeticTest(const Problem& pr) : pr_(pr), ht_(heads_and_tails(pr)) {}

  // Whether every node has a device with a finite cost, head and tail. Otherwise no window can
  // hold it whatever the target, which says more about the heads and tails than about plans:
  // nothing is refuted then.
  bool sound() const {
    for (int v = 0; v < pr_.num_nodes(); ++v) {
      bool any = false;
      for (int d = 0; d < pr_.num_devices() && !any; ++d) any = placeable(v, d);
      if (!any) return false;
    }
    return true;
  }

  // Rough count of window-interval pairs of one round's check at target T.
  double pairs(double target) {
    build(target);
    double total = 0;
    for (const auto& ws : windows_) total += static_cast<double>(ws.size()) * ws.size() * ws.size() * 4.0;
    return total;
  }

  // True when no plan has a makespan at most `target` (proven: the LP's exact Lagrangian value
  // is positive); false when the relaxation fits or the time ran out.
  bool refutes(double target, std::chrono::steady_clock::time_point deadline) {
    if (!build(target)) return true;  // some node fits on no device
    const int k = pr_.num_devices();
    MilpModel m;
    const int z = m.add_var(0, kInf, 1.0, false, "overflow");
    std::vector<std::vector<int>> col(k);
    std::vector<std::vector<std::pair<int, double>>> per_node(pr_.num_nodes());
    for (int d = 0; d < k; ++d)
      for (const Window& w : windows_[d]) {
        col[d].push_back(m.add_var(0, 1, 0, false));
        per_node[w.node].push_back({col[d].back(), 1.0});
      }
    for (auto& terms : per_node)
      if (!terms.empty()) m.add_row(std::move(terms), 1, 1);
    // The intervals where a device's work may lie: from a release or a latest start, to a
    // deadline or an earliest end.
    std::vector<std::vector<double>> from(k), to(k);
    for (int d = 0; d < k; ++d) {
      for (const Window& w : windows_[d]) {
        from[d].push_back(w.release), from[d].push_back(w.deadline - w.cost);
        to[d].push_back(w.deadline), to[d].push_back(w.release + w.cost);
      }
      for (auto* v : {&from[d], &to[d]}) {
        std::sort(v->begin(), v->end());
        v->erase(std::unique(v->begin(), v->end()), v->end());
      }
      if (!windows_[d].empty()) add_interval(m, z, col[d], d, from[d].front(), to[d].back());
    }
    const auto backend = make_cbc_backend();
    const double tolerance = 1e-6 * std::max(1.0, target);
    for (int round = 0; round < kMaxRounds; ++round) {
      const double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return false;
      MilpOptions opt;
      opt.relax = true;
      opt.time_limit_s = left;
      auto r = backend->solve(m, opt);
      if (!r || r->status == MilpResult::Status::kInfeasible) return false;
      if (!r->row_duals.empty() && lagrangian_bound(m, r->row_duals) > tolerance) return true;
      if (r->x.empty()) return false;
      // The intervals the LP's assignment overfills most, per device.
      bool added = false;
      for (int d = 0; d < k; ++d) {
        std::vector<std::pair<double, std::pair<double, double>>> worst;
        for (double a : from[d])
          for (double b : to[d]) {
            if (b <= a) continue;
            double load = 0;
            for (size_t j = 0; j < windows_[d].size(); ++j) load += energy(windows_[d][j], a, b) * r->x[col[d][j]];
            const double over = load - (b - a) - r->x[z];
            if (over > tolerance) worst.push_back({over, {a, b}});
          }
        const size_t keep = std::min<size_t>(worst.size(), kRowsPerRound);
        std::partial_sort(worst.begin(), worst.begin() + static_cast<long>(keep), worst.end(),
                          [](const auto& x, const auto& y) { return x.first > y.first; });
        for (size_t i = 0; i < keep; ++i) add_interval(m, z, col[d], d, worst[i].second.first, worst[i].second.second);
        added = added || keep > 0;
      }
      if (!added) return false;  // the LP's optimum over every interval: it fits
    }
    return false;
  }

 private:
  // Whether v can run on d with a finite cost, head and tail (a window for some target).
  bool placeable(int v, int d) const {
    const size_t at = static_cast<size_t>(v) * pr_.num_devices() + d;
    return pr_.can_run(v, d) && std::isfinite(pr_.cost_us(v, d)) && std::isfinite(ht_.head[at]) &&
           std::isfinite(ht_.tail[at]);
  }

  // The windows at target T; false when some node has none.
  bool build(double target) {
    const int n = pr_.num_nodes(), k = pr_.num_devices();
    windows_.assign(k, {});
    for (int v = 0; v < n; ++v) {
      bool any = false;
      for (int d = 0; d < k; ++d) {
        if (!placeable(v, d)) continue;
        const size_t at = static_cast<size_t>(v) * k + d;
        const double cost = pr_.cost_us(v, d);
        const double release = ht_.head[at], deadline = target - ht_.tail[at] + cost;
        if (release + cost > deadline) continue;  // it cannot run there and end by T
        windows_[d].push_back({v, release, cost, deadline});
        any = true;
      }
      if (!any) return false;
    }
    return true;
  }

  // The row: device d's work inside [a, b] fits in b - a (plus the overflow z).
  void add_interval(MilpModel& m, int z, const std::vector<int>& col, int d, double a, double b) const {
    std::vector<std::pair<int, double>> terms{{z, -1.0}};
    for (size_t j = 0; j < windows_[d].size(); ++j) {
      const double e = energy(windows_[d][j], a, b);
      if (e > 0) terms.push_back({col[j], e});
    }
    m.add_row(std::move(terms), -kInf, b - a);
  }

  const Problem& pr_;
  const HeadTail ht_;
  std::vector<std::vector<Window>> windows_;  // per device
};

// A plan's makespan is at most this: every node on one device, in topological order, each
// after its host input, then every return (the least such over the devices that run every
// node); +inf when no device does.
double serial_makespan(const Problem& pr) {
  double best = kInf;
  for (int d = 0; d < pr.num_devices(); ++d) {
    double t = 0;
    for (int v = 0; v < pr.num_nodes(); ++v) t += pr.input_us(v, d) + pr.cost_us(v, d) + pr.output_us(v, d);
    best = std::min(best, t);
  }
  return best;
}

}  // namespace

double energetic_bound_us(const Problem& pr, double at_least, double at_most, double time_limit_s) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::min(time_limit_s, 1e9)));
  if (time_limit_s <= 0 || pr.num_nodes() == 0 || pr.num_devices() < 2) return at_least;
  double lo = std::max(0.0, at_least);
  double hi = std::min(at_most, serial_makespan(pr));
  if (!std::isfinite(hi)) hi = 4 * std::max(lo, 1.0);
  if (hi <= lo * (1 + 1e-4)) return at_least;
  // Every node has a window on some device, so one round checks at least 4 n^3 / k^2 pairs:
  // too large a graph is skipped before its heads and tails are computed.
  const double n = pr.num_nodes(), k = pr.num_devices();
  if (4 * n * n * n / (k * k) > kMaxPairs) return at_least;
  EnergeticTest test(pr);
  if (!test.sound() || test.pairs(hi) > kMaxPairs) return at_least;
  // Bisection: every refuted target is a bound (no plan ends by it); stop within 0.1%. When
  // every target was refuted, the plan of `at_most` itself may be proven optimal.
  const double top = hi;
  double proven = at_least;
  while (hi - lo > 1e-3 * hi && Clock::now() < deadline) {
    const double mid = 0.5 * (lo + hi);
    if (test.refutes(mid, deadline)) {
      proven = std::max(proven, mid);
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const double last = top * (1 - 1e-7);
  if (hi == top && top == at_most && last > proven && Clock::now() < deadline && test.refutes(last, deadline))
    proven = last;
  return proven;
}

}  // namespace diviml
