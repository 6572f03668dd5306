// The incremental resource loads of a throughput choice (internal to src/solvers/): what the
// local searches of `balance` and the latency trim (lean.cpp) keep under single-task moves.
#pragma once

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>
#include <vector>

#include "diviml/cost/problem.hpp"

namespace diviml {

// Resource loads of a lane-by-node device choice, kept under single-task moves.
class LoadSearch {
 public:
  LoadSearch(const Problem& pr, std::vector<int> device)
      : pr_(pr),
        g_(pr.graph()),
        n_(pr.num_nodes()),
        k_(pr.num_devices()),
        host_(pr.platform().host),
        dev_(std::move(device)) {
    lanes_ = static_cast<int>(dev_.size()) / n_;
    load_.assign(k_ + static_cast<size_t>(k_) * k_ + 2 * static_cast<size_t>(k_), 0.0);
    held_.assign(static_cast<size_t>(k_) * n_, 0);
    mem_.assign(k_, 0.0);
    for (size_t t = 0; t < dev_.size(); ++t) {
      add_task(static_cast<int>(t), +1);
      add_moves(static_cast<int>(t), +1);
      const int v = static_cast<int>(t % n_), d = dev_[t];
      if (held_[static_cast<size_t>(d) * n_ + v]++ == 0) mem_[d] += pr_.resident_bytes(v);
    }
    for (size_t r = 0; r < load_.size(); ++r) ranked_.emplace(load_[r], static_cast<int>(r));
    for (double x : load_) sumsq_ += x * x;
  }
  const std::vector<int>& device() const { return dev_; }
  double max_load() const { return ranked_.empty() ? 0.0 : ranked_.rbegin()->first; }

  // The best device to move task t to: (max load, sum of squares) after the move, and the
  // device; device -1 when no move is allowed.
  std::tuple<double, double, int> best_move(int t) {
    std::tuple<double, double, int> best{kInf, kInf, -1};
    const int a = dev_[t];
    for (int b = 0; b < k_; ++b) {
      if (b == a || !allowed(t, b)) continue;
      apply(t, b);
      const double m = max_load();
      if (std::isfinite(m) && std::make_tuple(m, sumsq_, b) < best) best = {m, sumsq_, b};
      apply(t, a);
    }
    return best;
  }
  void move(int t, int b) { apply(t, b); }
  // Whether task t may sit on device b (it runs there and its weights fit).
  bool allowed(int t, int b) const {
    const int v = t % n_;
    if (!pr_.can_run(v, b)) return false;
    return held_[static_cast<size_t>(b) * n_ + v] > 0 || mem_[b] + pr_.resident_bytes(v) <= pr_.capacity_bytes(b);
  }
  double sumsq() const { return sumsq_; }
  // Tensor moves between devices per round (a producer's tensor once per destination device):
  // each is a hop one input waits for, which is what latency pays.
  long crossings() const { return crossings_; }
  // One input's time through its lane, the most over the lanes: the longest path of costs where
  // it runs and copies where devices change (host input first, output back last), each change of
  // device also charged `wait_us` (a busy device's slot for the input comes round once a round:
  // half a round on average), and at least the lane's own work on any one device (its tasks there
  // run one at a time). O(lanes x (nodes + edges + devices)).
  double latency_estimate(double wait_us = 0) const {
    finish_.assign(n_, 0.0);
    work_.assign(k_, 0.0);
    double worst = 0;
    for (int l = 0; l < lanes_; ++l) {
      std::fill(work_.begin(), work_.end(), 0.0);
      for (int v : g_.topo_order()) {
        const int d = dev_[l * n_ + v];
        double start = pr_.input_us(v, d);
        for (int e : g_.in_edges(v)) {
          const int u = g_.edges[e].src, du = dev_[l * n_ + u];
          start = std::max(start, finish_[u] + (du == d ? 0.0 : pr_.comm_us(e, du, d) + wait_us));
        }
        const double c = pr_.can_run(v, d) ? pr_.cost_us(v, d) : kInf;
        finish_[v] = start + c;
        work_[d] += c;
        worst = std::max(worst, finish_[v] + pr_.output_us(v, d));
      }
      for (double w : work_) worst = std::max(worst, w);
    }
    return worst;
  }
  int lanes() const { return lanes_; }

 private:
  int res_device(int d) const { return d; }
  int res_link(int a, int b) const { return k_ + a * k_ + b; }
  int res_nic_out(int d) const { return k_ + k_ * k_ + d; }
  int res_nic_in(int d) const { return k_ + k_ * k_ + k_ + d; }
  void change(int r, double delta) {
    if (delta == 0) return;
    ranked_.erase(ranked_.find({load_[r], r}));
    sumsq_ -= load_[r] * load_[r];
    load_[r] += delta;
    if (std::abs(load_[r]) < 1e-9 * (1 + std::abs(delta))) load_[r] = 0;  // drift
    if (!std::isfinite(load_[r]) && delta < 0) load_[r] = 0;
    sumsq_ += std::isfinite(load_[r]) ? load_[r] * load_[r] : kInf;
    ranked_.emplace(load_[r], r);
  }
  void add(int r, double delta) {
    if (initialised_)
      change(r, delta);
    else
      load_[r] += delta;
  }
  // A copy occupies its link, and each end whose copies do not overlap compute; between servers
  // also the sender's way out and the receiver's way in.
  void copy(int a, int b, double delta) {
    add(res_link(a, b), delta);
    if (pr_.platform().crosses_servers(a, b)) {
      add(res_nic_out(a), delta);
      add(res_nic_in(b), delta);
    }
    for (int d : {a, b})
      if (!pr_.platform().devices[d].overlap_comm) add(res_device(d), delta);
  }
  // Task t's compute and host transfers, counted (+1) or removed (-1) where it sits.
  void add_task(int t, int sign) {
    const int d = dev_[t], v = t % n_;
    const double c = pr_.can_run(v, d) ? pr_.cost_us(v, d) : kInf;
    const double in = pr_.input_us(v, d), out = pr_.output_us(v, d);
    add(res_device(d), sign * c);
    if (in > 0) copy(host_, d, sign * in);
    if (out > 0) copy(d, host_, sign * out);
  }
  // Producer task t's tensor moves: once per destination device, its largest edge there.
  void add_moves(int t, int sign) {
    const int a = dev_[t], lane = t / n_;
    scratch_.clear();
    for (int e : g_.out_edges(t % n_)) {
      const int b = dev_[lane * n_ + g_.edges[e].dst];
      if (b == a) continue;
      const double x = pr_.comm_us(e, a, b);
      auto it = std::find_if(scratch_.begin(), scratch_.end(), [&](const auto& p) { return p.first == b; });
      if (it == scratch_.end())
        scratch_.emplace_back(b, x);
      else
        it->second = std::max(it->second, x);
    }
    for (const auto& [b, x] : scratch_) copy(a, b, sign * x);
    crossings_ += sign * static_cast<long>(scratch_.size());
  }
  // Moves task t to device b, keeping every load.
  void apply(int t, int b) {
    initialised_ = true;
    const int a = dev_[t], v = t % n_, lane = t / n_;
    if (a == b) return;
    producers_.clear();
    producers_.push_back(t);
    for (int e : g_.in_edges(v)) producers_.push_back(lane * n_ + g_.edges[e].src);
    std::sort(producers_.begin(), producers_.end());
    producers_.erase(std::unique(producers_.begin(), producers_.end()), producers_.end());
    for (int p : producers_) add_moves(p, -1);
    add_task(t, -1);
    if (--held_[static_cast<size_t>(a) * n_ + v] == 0) mem_[a] -= pr_.resident_bytes(v);
    dev_[t] = b;
    if (held_[static_cast<size_t>(b) * n_ + v]++ == 0) mem_[b] += pr_.resident_bytes(v);
    add_task(t, +1);
    for (int p : producers_) add_moves(p, +1);
  }

  const Problem& pr_;
  const Graph& g_;
  int n_, k_, host_, lanes_ = 1;
  std::vector<int> dev_;
  std::vector<double> load_;
  std::vector<int> held_;
  std::vector<double> mem_;
  std::set<std::pair<double, int>> ranked_;
  double sumsq_ = 0;
  long crossings_ = 0;
  mutable std::vector<double> finish_, work_;  // scratch of latency_estimate()
  bool initialised_ = false;
  std::vector<std::pair<int, double>> scratch_;
  std::vector<int> producers_;
};

}  // namespace diviml
