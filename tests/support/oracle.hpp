// An independent reference for tiny instances: the exact optimum by exhaustive enumeration,
// and a plan checker, written without the library's replay, validator or bounds.
//
// Enumeration: every device assignment (can-run, memory, links) and every combination of
// per-device orders consistent with precedence. For each, start times are the least fixpoint of
//   start(v) = max(input(v), end(previous on its device), end(u) + transfer(u -> v))
// computed by relaxation until nothing changes (no topological sort of the combined order). Any
// feasible schedule has per-device orders in this set and starts no earlier than the fixpoint,
// so the minimum makespan found is the optimum. Transfer times come straight from the
// platform's link (latency + bytes / (gbps * 1e3)), costs from the problem's cost table.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "diviml/objective/plan.hpp"

namespace diviml::testing {

class Oracle {
 public:
  explicit Oracle(const Problem& pr) : pr_(pr), n_(pr.num_nodes()), k_(pr.num_devices()) {
    const Graph& g = pr.graph();
    before_.assign(n_, std::vector<char>(n_, 0));
    // Transitive closure by repeated relaxation (n <= 8: cheap and obviously right).
    for (const Edge& e : g.edges) before_[e.dst][e.src] = 1;
    for (int r = 0; r < n_; ++r)
      for (int v = 0; v < n_; ++v)
        for (int u = 0; u < n_; ++u)
          if (before_[v][u])
            for (int w = 0; w < n_; ++w)
              if (before_[u][w]) before_[v][w] = 1;
  }

  double transfer(int edge, int a, int b) const {
    if (a == b) return 0.0;
    return pr_.platform().transfer_us(a, b, pr_.graph().edges[edge].bytes);
  }
  double input(int v, int d) const {
    const double bytes = pr_.graph().nodes[v].input_bytes;
    return bytes > 0 ? pr_.platform().transfer_us(pr_.platform().host, d, bytes) : 0.0;
  }
  double output(int v, int d) const {
    const Graph& g = pr_.graph();
    const double bytes = g.out_edges(v).empty() ? g.nodes[v].output_bytes.value_or(0.0) : 0.0;
    return bytes > 0 ? pr_.platform().transfer_us(d, pr_.platform().host, bytes) : 0.0;
  }

  // Memory over time, from the definition in the issue (written apart from memory.cpp): on each
  // device, the weights and state of its nodes for the whole run, plus intervals [from, to):
  // a node's workspace while it runs, its model input from arrival until it ends, its output
  // from its start until its local consumers, its copies and its return to the host end, and a
  // copy received on a device from its arrival until its last consumer there ends. The peak is
  // the largest sum over the intervals holding at some interval's start. True when every
  // device's peak is within its capacity. `start` and `copy_end(u, d)` give the times.
  template <class CopyEnd>
  bool fits_over_time(const std::vector<int>& dev, const std::vector<double>& start, CopyEnd copy_end) const {
    const Graph& g = pr_.graph();
    struct Held {
      double from, to, bytes;
    };
    std::vector<std::vector<Held>> held(k_);
    std::vector<double> resident(k_, 0.0);
    auto end = [&](int v) { return start[v] + pr_.cost_us(v, dev[v]); };
    for (int v = 0; v < n_; ++v) {
      const Node& node = g.nodes[v];
      const int d = dev[v];
      resident[d] += node.param_bytes + node.state_bytes;
      held[d].push_back({start[v], end(v), node.workspace_bytes});
      if (node.input_bytes > 0) held[d].push_back({input(v, d), end(v), node.input_bytes});
      double size = node.output_bytes ? *node.output_bytes : 0.0;
      double until = end(v);
      if (g.out_edges(v).empty()) until += output(v, d);
      for (int e : g.out_edges(v)) {
        const int w = g.edges[e].dst;
        if (!node.output_bytes) size = std::max(size, g.edges[e].bytes);
        until = std::max(until, dev[w] == d ? end(w) : copy_end(v, dev[w]));
      }
      held[d].push_back({start[v], until, size});
      // Copies received from v, one per other device that reads it.
      for (int b = 0; b < k_; ++b) {
        if (b == d) continue;
        double bytes = 0, last = -1;
        for (int e : g.out_edges(v))
          if (dev[g.edges[e].dst] == b)
            bytes = std::max(bytes, g.edges[e].bytes), last = std::max(last, end(g.edges[e].dst));
        if (last >= 0) held[b].push_back({copy_end(v, b), std::max(last, copy_end(v, b)), bytes});
      }
    }
    for (int d = 0; d < k_; ++d) {
      double peak = resident[d];
      for (const Held& at : held[d]) {
        double sum = resident[d];
        for (const Held& h : held[d])
          if (h.from <= at.from && at.from < h.to) sum += h.bytes;
        peak = std::max(peak, sum);
      }
      if (peak > pr_.capacity_bytes(d) * (1 + 1e-9)) return false;
    }
    return true;
  }

  // Makespan of a device assignment with per-device orders, started as early as precedence
  // allows (what a replay does); +inf when infeasible. `over_time` false checks weights and
  // state only (the relaxation the solvers' bounds are about).
  double evaluate(const std::vector<int>& dev, const std::vector<std::vector<int>>& order,
                  bool over_time = true) const {
    const Graph& g = pr_.graph();
    std::vector<double> mem(k_, 0.0);
    for (int v = 0; v < n_; ++v) {
      if (!std::isfinite(pr_.cost_us(v, dev[v]))) return kInf;
      mem[dev[v]] += g.nodes[v].param_bytes + g.nodes[v].state_bytes;
    }
    for (int d = 0; d < k_; ++d)
      if (mem[d] > pr_.capacity_bytes(d)) return kInf;
    std::vector<int> prev(n_, -1);
    for (const auto& o : order)
      for (size_t j = 1; j < o.size(); ++j) prev[o[j]] = o[j - 1];
    std::vector<double> start(n_, 0.0);
    for (int round = 0; round <= n_ + 1; ++round) {
      bool changed = false;
      for (int v = 0; v < n_; ++v) {
        double s = input(v, dev[v]);
        if (prev[v] >= 0) s = std::max(s, start[prev[v]] + pr_.cost_us(prev[v], dev[prev[v]]));
        for (int e : g.in_edges(v)) {
          const int u = g.edges[e].src;
          s = std::max(s, start[u] + pr_.cost_us(u, dev[u]) + transfer(e, dev[u], dev[v]));
        }
        if (!std::isfinite(s)) return kInf;
        if (s > start[v]) start[v] = s, changed = true;
      }
      if (!changed) {
        double makespan = 0;
        for (int v = 0; v < n_; ++v) {
          const double out = output(v, dev[v]);
          if (!std::isfinite(out)) return kInf;
          makespan = std::max(makespan, start[v] + pr_.cost_us(v, dev[v]) + out);
        }
        auto copy_end = [&](int u, int b) {
          double t = 0;
          for (int e : g.out_edges(u))
            if (dev[g.edges[e].dst] == b) t = std::max(t, start[u] + pr_.cost_us(u, dev[u]) + transfer(e, dev[u], b));
          return t;
        };
        if (over_time && !fits_over_time(dev, start, copy_end)) return kInf;
        return makespan;
      }
    }
    return kInf;  // still moving after n + 1 rounds: the orders contradict precedence
  }

  // The exact optimum over plans started as early as their orders allow, memory over time
  // included; +inf when no such plan exists.
  double optimum() const { return search(true); }
  // The same with weights and state only: the relaxation, at most the optimum of any plan.
  double relaxed_optimum() const { return search(false); }

  bool colocated(const std::vector<int>& dev) const {
    const Graph& g = pr_.graph();
    for (int a = 0; a < n_; ++a)
      for (int b = a + 1; b < n_; ++b)
        if (!g.nodes[a].colocate.empty() && g.nodes[a].colocate == g.nodes[b].colocate && dev[a] != dev[b])
          return false;
    return true;
  }

  double search(bool over_time) const {
    double best = kInf;
    std::vector<int> dev(n_, 0);
    std::vector<std::vector<int>> order(k_);
    std::function<void(int)> orders = [&](int d) {
      if (d == k_) {
        best = std::min(best, evaluate(dev, order, over_time));
        return;
      }
      std::vector<int>& o = order[d];
      std::sort(o.begin(), o.end());
      do {
        bool ok = true;
        for (size_t a = 0; a < o.size() && ok; ++a)
          for (size_t b = a + 1; b < o.size() && ok; ++b) ok = !before_[o[a]][o[b]];
        if (ok) orders(d + 1);
      } while (std::next_permutation(o.begin(), o.end()));
    };
    while (true) {
      for (auto& o : order) o.clear();
      for (int v = 0; v < n_; ++v) order[dev[v]].push_back(v);
      // Cheap rejection before enumerating orders: a node that cannot run, memory, links, and
      // nodes of one colocation group (the graph's `colocate` strings) on different devices.
      if (colocated(dev) && evaluate_feasible(dev)) orders(0);
      int i = 0;
      while (i < n_ && ++dev[i] == k_) dev[i++] = 0;
      if (i == n_) break;
    }
    return best;
  }

  // Checks a plan against the problem from its placements alone; "" when it is a valid plan.
  std::string check(const Plan& plan) const {
    const Graph& g = pr_.graph();
    auto tol = [](double x) { return 1e-6 * std::max(1.0, std::abs(x)); };
    if (static_cast<int>(plan.placements.size()) != n_) return "placements do not cover every node";
    std::vector<const Placement*> at(n_, nullptr);
    for (const Placement& p : plan.placements) {
      if (p.node < 0 || p.node >= n_ || at[p.node]) return "bad or repeated placement";
      at[p.node] = &p;
      if (p.device < 0 || p.device >= k_) return "unknown device";
      const double c = pr_.cost_us(p.node, p.device);
      if (!std::isfinite(c)) return g.nodes[p.node].id + " on a device it cannot run on";
      if (std::abs(p.end_us - p.start_us - c) > tol(c)) return g.nodes[p.node].id + " has a wrong duration";
      if (p.start_us + tol(p.start_us) < input(p.node, p.device))
        return g.nodes[p.node].id + " starts before its input";
    }
    for (int e = 0; e < g.num_edges(); ++e) {
      const Placement &a = *at[g.edges[e].src], &b = *at[g.edges[e].dst];
      const double ready = a.end_us + transfer(e, a.device, b.device);
      if (!std::isfinite(ready) || b.start_us + tol(ready) < ready) return "edge " + std::to_string(e) + " violated";
    }
    std::vector<double> mem(k_, 0.0);
    double makespan = 0;
    for (int v = 0; v < n_; ++v) {
      mem[at[v]->device] += g.nodes[v].param_bytes + g.nodes[v].state_bytes;
      const double out = output(v, at[v]->device);
      if (!std::isfinite(out)) return g.nodes[v].id + " cannot return its output";
      makespan = std::max(makespan, at[v]->end_us + out);
      for (int w = v + 1; w < n_; ++w) {
        const Placement &a = *at[v], &b = *at[w];
        if (a.device != b.device) continue;
        const double overlap = std::min(a.end_us, b.end_us) - std::max(a.start_us, b.start_us);
        if (overlap > tol(a.end_us)) return "overlap on a device";
      }
    }
    for (int d = 0; d < k_; ++d)
      if (mem[d] > pr_.capacity_bytes(d)) return "memory exceeded";
    std::vector<int> dev(n_);
    std::vector<double> start(n_);
    for (int v = 0; v < n_; ++v) dev[v] = at[v]->device, start[v] = at[v]->start_us;
    auto copy_end = [&](int u, int b) {
      double t = 0;
      for (const Transfer& tr : plan.transfers)
        if (g.edges[tr.edge].src == u && tr.to == b) t = std::max(t, tr.end_us);
      return t;
    };
    if (!fits_over_time(dev, start, copy_end)) return "memory over time exceeded";
    if (std::abs(makespan - plan.makespan_us) > tol(makespan)) return "makespan_us differs from the placements";
    return "";
  }

 private:
  bool evaluate_feasible(const std::vector<int>& dev) const {
    std::vector<double> mem(k_, 0.0);
    for (int v = 0; v < n_; ++v) {
      if (!std::isfinite(pr_.cost_us(v, dev[v]))) return false;
      mem[dev[v]] += pr_.graph().nodes[v].param_bytes + pr_.graph().nodes[v].state_bytes;
    }
    for (int d = 0; d < k_; ++d)
      if (mem[d] > pr_.capacity_bytes(d)) return false;
    for (int e = 0; e < pr_.graph().num_edges(); ++e)
      if (!std::isfinite(transfer(e, dev[pr_.graph().edges[e].src], dev[pr_.graph().edges[e].dst]))) return false;
    return true;
  }

  const Problem& pr_;
  const int n_, k_;
  std::vector<std::vector<char>> before_;  // before_[v][u]: u must precede v
};

}  // namespace diviml::testing
