#include "diviml/solvers/bnb.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "diviml/cost/symmetry.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/solvers/baselines.hpp"

namespace diviml {

namespace {

constexpr int kMaxSearchNodes = 5000;
// Up to this many devices the bound's earliest starts also follow unplaced predecessors
// (k^2 per edge); beyond, only placed ones, and the load is priced uniformly only.
constexpr int kFullHeadsDevices = 8;
// Up to this many devices the window test also reasons over every set of devices (2^k sets,
// each with 2^k subsets of devices that could be in use); beyond, one device at a time only.
// Where the sets run, they make the LP work bound's weighting redundant (GoogLeNet's module
// searches: the same partial schedules with and without it), so it is computed only beyond.
constexpr int kDeviceSetsDevices = 4;

class Search {
 public:
  Search(const Problem& pr, double time_limit_s, long max_expansions, bool break_symmetry,
         const std::vector<double>& weights)
      : pr_(pr),
        g_(pr.graph()),
        n_(pr.num_nodes()),
        k_(pr.num_devices()),
        limit_s_(time_limit_s),
        max_expansions_(max_expansions),
        t0_(std::chrono::steady_clock::now()) {
    twin_device_.assign(k_, -1);
    if (break_symmetry) {
      const std::vector<int> cls = device_classes(pr);
      for (int d = 0; d < k_; ++d)
        for (int e = d - 1; e >= 0 && twin_device_[d] < 0; --e)
          if (cls[e] == cls[d]) twin_device_[d] = e;
    }
    tpos_.assign(n_, 0);
    const auto& topo = g_.topo_order();
    for (int t = 0; t < n_; ++t) tpos_[topo[t]] = t;
    // tail[v * k + d]: from v's start on d to the end (its cost, then its successors' tails
    // with the cheapest transfers to their devices, or the return to the host).
    tail_ = heads_and_tails(pr).tail;
    // Flat copies of the costs the search reads at every step.
    topo_ = topo;
    cost_.assign(static_cast<size_t>(n_) * k_, kInf);
    input_.assign(static_cast<size_t>(n_) * k_, 0.0);
    output_.assign(static_cast<size_t>(n_) * k_, 0.0);
    for (int v = 0; v < n_; ++v)
      for (int d = 0; d < k_; ++d) {
        if (pr.can_run(v, d)) cost_[v * k_ + d] = pr.cost_us(v, d);
        input_[v * k_ + d] = pr.input_us(v, d);
        output_[v * k_ + d] = pr.output_us(v, d);
      }
    in_off_.assign(n_ + 1, 0);
    for (int v = 0; v < n_; ++v) {
      in_off_[v + 1] = in_off_[v];
      for (int e : g_.in_edges(v)) {
        in_src_.push_back(g_.edges[e].src);
        for (int a = 0; a < k_; ++a)
          for (int b = 0; b < k_; ++b) comm_.push_back(pr.comm_us(e, a, b));
        ++in_off_[v + 1];
      }
    }
    est_.assign(static_cast<size_t>(n_) * k_, 0.0);
    kids_.assign(n_ + 1, {});
    alone_.assign(k_, {});
    window_.assign(n_, 0);
    if (k_ <= kDeviceSetsDevices) {
      const size_t sets = size_t{1} << k_;
      count_.assign(sets, 0);
      set_head_.assign(sets * k_, kInf);
      set_tail_.assign(sets * k_, kInf);
      set_cost_.assign(sets * sets, 0.0);
      least_cost_.assign(sets * n_, kInf);
      for (int v = 0; v < n_; ++v)
        for (size_t u = 1; u < sets; ++u) {
          const int d = __builtin_ctz(static_cast<unsigned>(u));
          least_cost_[v * sets + u] = std::min(least_cost_[v * sets + (u & (u - 1))], cost_[v * k_ + d]);
        }
    }
    find_twin_branches();
    dev_.assign(n_, -1);
    fin_.assign(n_, 0.0);
    waiting_.assign(n_, 0);
    for (int v = 0; v < n_; ++v) waiting_[v] = static_cast<int>(g_.in_edges(v).size());
    avail_.assign(k_, 0.0);
    mem_.assign(k_, 0.0);
    order_.assign(k_, {});
    group_device_.assign(pr.num_groups(), -1);
    group_placed_.assign(pr.num_groups(), 0);
    // Load weightings: uniform, and the LP work bound's (a slow device weighs little).
    weights_.assign(k_, 1.0 / k_);
    if (static_cast<int>(weights.size()) == k_) weights_.insert(weights_.end(), weights.begin(), weights.end());
    const int sets = static_cast<int>(weights_.size()) / k_;
    share_.assign(static_cast<size_t>(sets) * n_, 0.0);
    rest_.assign(sets, 0.0);
    for (int j = 0; j < sets; ++j)
      for (int v = 0; v < n_; ++v) {
        double low = kInf;
        for (int d = 0; d < k_; ++d)
          if (pr.can_run(v, d)) low = std::min(low, weights_[j * k_ + d] * pr.cost_us(v, d));
        share_[j * n_ + v] = std::isfinite(low) ? low : 0.0;
        rest_[j] += share_[j * n_ + v];
      }
  }

  void incumbent(const Mapping& m, double makespan) {
    if (makespan < best_) best_ = makespan, best_map_ = m;
  }

  // Nothing at or above `cutoff` is looked for: a complete search that finds no plan below it
  // proves that the optimum is at least the cutoff.
  void set_cutoff(double cutoff) {
    if (cutoff < best_) best_ = cutoff, best_map_ = {};
  }

  BnbResult run() {
    const double root = bound(0.0, 0.0);
    dfs(0, 0.0, -1, 0.0, 0.0);
    BnbResult r;
    const bool found = !best_map_.device.empty();
    r.makespan_us = found ? best_ : kInf;
    r.mapping = best_map_;
    r.complete = !stopped_;
    r.proven = r.complete && found;
    // Complete: nothing below best_ (a plan's value, or the cutoff). Stopped: the root's bound.
    r.bound_us = r.complete ? best_ : std::min(root, best_);
    if (!std::isfinite(r.bound_us)) r.bound_us = std::isfinite(root) ? root : 0.0;
    r.expansions = expansions_;
    return r;
  }

 private:
  struct Job {  // a node confined to one device: earliest start, cost, least time after it
    double head, cost, tail;
  };
  struct Child {
    double key, start;
    int v, d;
  };

  double start_on(int v, int d) const {
    double s = std::max(avail_[d], input_[v * k_ + d]);
    for (int i = in_off_[v]; i < in_off_[v + 1]; ++i) {
      const int u = in_src_[i];
      s = std::max(s, fin_[u] + comm_[(static_cast<size_t>(i) * k_ + dev_[u]) * k_ + d]);
    }
    return s;
  }

  // Lower bound on any completion of the current partial schedule (`last`: latest start).
  // The load part: for weights w (sum 1), every device d is busy until at least its free time
  // F_d = max(avail_d, last) plus what it still gets, so the makespan is at least
  // sum_d w_d F_d + sum over unplaced v of min_d w_d p_vd.
  // Stops early (returning what it has) once the bound reaches `enough`.
  double bound(double current, double last, double enough = kInf) {
    double lb = current;
    for (size_t j = 0; j < rest_.size(); ++j) {
      double free_time = rest_[j];
      for (int d = 0; d < k_; ++d) free_time += weights_[j * k_ + d] * std::max(avail_[d], last);
      lb = std::max(lb, free_time);
    }
    // Every unplaced node's earliest start per device (est), in topological order: no earlier
    // than the latest start, the device's last end and its host input; after each placed
    // predecessor's end plus the tensor's transfer, and each unplaced one's earliest end on
    // its best device plus the transfer. Then its tail: the plan ends no earlier than the
    // best device's est + tail.
    double* est = est_.data();
    for (int v : topo_) {
      if (dev_[v] >= 0) continue;
      double best = kInf;
      for (int d = 0; d < k_; ++d) {
        double& ready = est[v * k_ + d];
        const double tail = tail_[v * k_ + d];
        if (!std::isfinite(tail)) {
          ready = kInf;
          continue;
        }
        ready = std::max({last, avail_[d], input_[v * k_ + d]});
        for (int i = in_off_[v]; i < in_off_[v + 1]; ++i) {
          const int u = in_src_[i];
          const double* c = &comm_[static_cast<size_t>(i) * k_ * k_];
          if (dev_[u] >= 0) {
            ready = std::max(ready, fin_[u] + c[dev_[u] * k_ + d]);
          } else if (k_ <= kFullHeadsDevices) {
            double from = kInf;
            for (int l = 0; l < k_; ++l) from = std::min(from, est[u * k_ + l] + cost_[u * k_ + l] + c[l * k_ + d]);
            ready = std::max(ready, from);
          }
        }
        best = std::min(best, ready + tail);
      }
      lb = std::max(lb, best);
      if (lb >= enough) return lb;
    }
    if (std::isfinite(enough) && windows_refute(enough)) return enough;
    return lb;
  }

  // After bound()'s earliest starts, whether no completion ends below `enough`. Below it, node
  // v can run only on the devices d where est(v, d) + tail(v, d) < enough (its window); then
  //  - per device, the nodes whose window is on that device alone run there one after another:
  //    for every head h, those with heads >= h need h + their costs + their least tail;
  //  - per set S of devices (up to kDeviceSetsDevices), the nodes whose windows lie in S run on
  //    some non-empty subset U of S that they all reach: each device d in U works from its
  //    least head h_d through its nodes' costs, then its least tail q_d, so
  //    |U| * makespan >= sum over U of (h_d + q_d) + the nodes' least costs within U.
  //    Below `enough` only when that holds for no U.
  // Both are conditional: they refute the target, they are not bounds below it.
  bool windows_refute(double enough) {
    const bool sets = k_ <= kDeviceSetsDevices;
    const int full = sets ? (1 << k_) - 1 : 0;
    for (auto& jobs : alone_) jobs.clear();
    for (int v : topo_) {
      if (dev_[v] >= 0) continue;
      int mask = 0, count = 0, only = -1;
      for (int d = 0; d < k_; ++d)
        if (est_[v * k_ + d] + tail_[v * k_ + d] < enough) ++count, only = d, mask |= sets ? 1 << d : 0;
      window_[v] = mask;
      if (count == 1) {
        const double p = cost_[v * k_ + only];
        alone_[only].push_back({est_[v * k_ + only], p, tail_[v * k_ + only] - p});
      }
    }
    for (auto& jobs : alone_) {
      if (jobs.size() < 2) continue;
      std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.head > b.head; });
      double work = 0, tail = kInf;
      for (const Job& j : jobs) {  // heads falling: the nodes with heads >= j.head so far
        work += j.cost;
        tail = std::min(tail, j.tail);
        if (j.head + work + tail >= enough) return true;
      }
    }
    if (!sets) return false;
    // The sets (most refutations come from the single devices above: only now the groups).
    std::fill(count_.begin(), count_.end(), 0);
    for (int v : topo_) {
      if (dev_[v] >= 0) continue;
      const int mask = window_[v];
      double* head = &set_head_[static_cast<size_t>(mask) * k_];
      double* tail = &set_tail_[static_cast<size_t>(mask) * k_];
      double* cost = &set_cost_[static_cast<size_t>(mask) * (full + 1)];
      if (count_[mask]++ == 0) {
        std::fill(head, head + k_, kInf);
        std::fill(tail, tail + k_, kInf);
        std::fill(cost, cost + full + 1, 0.0);
      }
      const double* least = &least_cost_[static_cast<size_t>(v) * (full + 1)];
      for (int u = 1; u <= full; ++u) cost[u] += least[u & mask];
      for (int d = 0; d < k_; ++d)
        if (mask >> d & 1) {
          head[d] = std::min(head[d], est_[v * k_ + d]);
          tail[d] = std::min(tail[d], tail_[v * k_ + d] - cost_[v * k_ + d]);
        }
    }
    for (int set = 1; set <= full; ++set) {
      if (__builtin_popcount(static_cast<unsigned>(set)) < 2) continue;
      // Per device: the least head and tail of the nodes in `set` that can run there.
      double head[kDeviceSetsDevices], tail[kDeviceSetsDevices];
      int nodes = 0;
      for (int d = 0; d < k_; ++d) head[d] = tail[d] = kInf;
      for (int m = set; m > 0; m = (m - 1) & set) {
        if (count_[m] == 0) continue;
        nodes += count_[m];
        for (int d = 0; d < k_; ++d)
          if (m >> d & 1) {
            head[d] = std::min(head[d], set_head_[static_cast<size_t>(m) * k_ + d]);
            tail[d] = std::min(tail[d], set_tail_[static_cast<size_t>(m) * k_ + d]);
          }
      }
      if (nodes < 2) continue;
      bool below = false;  // some subset u of the devices, all in use, allows a makespan below `enough`
      for (int u = set; u > 0 && !below; u = (u - 1) & set) {
        double sum = 0;
        bool reaches = true;  // every node can run in u, and every device of u runs some node
        for (int d = 0; d < k_; ++d)
          if (u >> d & 1) {
            reaches = reaches && std::isfinite(head[d]);
            sum += head[d] + tail[d];
          }
        for (int m = set; m > 0 && reaches; m = (m - 1) & set)
          if (count_[m] > 0) {
            reaches = (m & u) != 0;
            sum += set_cost_[static_cast<size_t>(m) * (full + 1) + u];
          }
        below = reaches && sum / __builtin_popcount(static_cast<unsigned>(u)) < enough;
      }
      if (!below) return true;
    }
    return false;
  }

  // The weights a node adds where it goes: its own, or for the first member of a colocation
  // group the whole group's (the others then add none).
  double resident(int v, int d) const {
    (void)d;
    const int group = pr_.group_of(v);
    if (group < 0) return pr_.resident_bytes(v);
    return group_device_[group] >= 0 ? 0.0 : pr_.group_resident_bytes(group);
  }

  // Appends follow the order (start, end, topological position): every semi-active schedule
  // lists its nodes in that order without breaking a device order or precedence (a node that
  // starts with another on its device and ends no later is zero-length, so it may go first),
  // so the search meets each of them. Ties on start alone are not enough: a zero-length node
  // must be able to go before a longer one that starts at the same time on its device.
  bool after_last(double s, double e, int v, int last_node, double last_start, double last_end) const {
    if (last_node < 0) return true;
    const double eps = 1e-9 * std::max(1.0, std::abs(last_start));
    if (s > last_start + eps) return true;
    if (s < last_start - eps) return false;
    if (e > last_end + eps) return true;
    if (e < last_end - eps) return false;
    return tpos_[v] > tpos_[last_node];
  }

  void dfs(int placed, double current, int last_node, double last_start, double last_end) {
    if (stopped_) return;
    if (placed == n_) {
      if (current < best_ - 1e-9) {
        best_ = current;
        best_map_.device = dev_;
        best_map_.order = order_;
      }
      return;
    }
    if (++expansions_ > max_expansions_ ||
        ((expansions_ & 15) == 0 &&
         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count() > limit_s_)) {
      stopped_ = true;
      return;
    }
    if (bound(current, last_start, best_ - 1e-9) >= best_ - 1e-9) return;
    std::vector<Child>& kids = kids_[placed];
    kids.clear();
    for (int v = 0; v < n_; ++v) {
      if (dev_[v] >= 0 || waiting_[v] > 0) continue;
      if (twin_before_[v] >= 0 && dev_[twin_before_[v]] < 0) continue;  // twins start in index order
      const int group = pr_.group_of(v);
      for (int d = 0; d < k_; ++d) {
        if (!std::isfinite(cost_[v * k_ + d]) || mem_[d] + resident(v, d) > pr_.capacity_bytes(d)) continue;
        // Colocation: a group goes where its first member went, to a device that runs it whole.
        if (group >= 0 && (group_device_[group] >= 0 ? group_device_[group] != d : !pr_.group_runs(group, d))) continue;
        // Identical devices: of those still unused, only the first (the rest give mirror images).
        if (twin_device_[d] >= 0 && order_[d].empty() && order_[twin_device_[d]].empty()) continue;
        const double s = start_on(v, d), e = s + cost_[v * k_ + d];
        if (!std::isfinite(s) || !after_last(s, e, v, last_node, last_start, last_end)) continue;
        // Key: a lower bound on any schedule through this child (v's end, then its tail).
        kids.push_back({s + tail_[v * k_ + d], s, v, d});
      }
    }
    std::sort(kids.begin(), kids.end(), [](const Child& a, const Child& b) { return a.key < b.key; });
    for (const Child& c : kids) {
      if (c.key >= best_ - 1e-9) break;  // key is a lower bound through this child
      const int v = c.v, d = c.d;
      const double saved_avail = avail_[d];
      dev_[v] = d;
      fin_[v] = c.start + cost_[v * k_ + d];
      avail_[d] = fin_[v];
      const double bytes = resident(v, d);
      mem_[d] += bytes;
      const int group = pr_.group_of(v);
      if (group >= 0 && group_placed_[group]++ == 0) group_device_[group] = d;
      order_[d].push_back(v);
      for (size_t j = 0; j < rest_.size(); ++j) rest_[j] -= share_[j * n_ + v];
      for (int e : g_.out_edges(v)) --waiting_[g_.edges[e].dst];
      dfs(placed + 1, std::max(current, fin_[v] + output_[v * k_ + d]), v, c.start, fin_[v]);
      for (int e : g_.out_edges(v)) ++waiting_[g_.edges[e].dst];
      for (size_t j = 0; j < rest_.size(); ++j) rest_[j] += share_[j * n_ + v];
      order_[d].pop_back();
      if (group >= 0 && --group_placed_[group] == 0) group_device_[group] = -1;
      mem_[d] -= bytes;
      avail_[d] = saved_avail;
      dev_[v] = -1;
      if (stopped_) return;
    }
  }

  // Twin regions: for a node v with a single predecessor P, its region is v plus every node
  // all of whose predecessors are already in the region (closed under that rule, at most 64
  // nodes), so nothing outside enters it but P -> v. Two regions with the same P, the same
  // nodes in topological order (costs, host transfers, weights), the same inner edges and the
  // same edges out to the same nodes are interchangeable: relabelling them so their roots start
  // in index order changes no makespan, and a root starts before the rest of its region. So
  // the search appends a region's root only once the previous twin's root is placed (the
  // paper's symmetry breaking, applied to repeated branches such as attention heads).
  void find_twin_branches() {
    twin_before_.assign(n_, -1);
    std::map<std::vector<double>, int> last_of_class;
    std::vector<int> in_region(n_, -1);
    for (int v : g_.topo_order()) {
      if (g_.in_edges(v).size() != 1) continue;
      const int p = g_.edges[g_.in_edges(v)[0]].src;
      std::vector<int> region{v};
      in_region[v] = v;
      for (size_t i = 0; i < region.size() && region.size() <= 64; ++i)
        for (int e : g_.out_edges(region[i])) {
          int w = g_.edges[e].dst;
          if (in_region[w] == v) continue;
          bool all_in = true;
          for (int f : g_.in_edges(w)) all_in = all_in && in_region[g_.edges[f].src] == v;
          if (all_in) in_region[w] = v, region.push_back(w);
        }
      if (region.size() > 64) continue;
      std::sort(region.begin(), region.end(), [&](int a, int b) { return tpos_[a] < tpos_[b]; });
      std::map<int, int> local;
      for (size_t i = 0; i < region.size(); ++i) local[region[i]] = static_cast<int>(i);
      std::vector<double> sig{static_cast<double>(p), g_.edges[g_.in_edges(v)[0]].bytes,
                              static_cast<double>(region.size())};
      // Colocation groups tie nodes across regions: only regions outside every group are twins.
      bool grouped = false;
      for (int z : region) grouped = grouped || pr_.group_of(z) >= 0;
      if (grouped) continue;
      for (int z : region) {
        for (int d = 0; d < k_; ++d)
          sig.insert(sig.end(), {pr_.can_run(z, d) ? pr_.cost_us(z, d) : -1.0, pr_.input_us(z, d), pr_.output_us(z, d),
                                 pr_.resident_bytes(z)});
        for (int e : g_.out_edges(z)) {
          auto w = local.find(g_.edges[e].dst);
          // Inner edges by local index; edges leaving by the node they reach (offset past locals).
          sig.insert(sig.end(),
                     {static_cast<double>(local[z]),
                      w != local.end() ? static_cast<double>(w->second) : static_cast<double>(n_ + g_.edges[e].dst),
                      g_.edges[e].bytes});
        }
      }
      auto [it, fresh] = last_of_class.emplace(std::move(sig), v);
      if (!fresh) {
        twin_before_[v] = it->second;
        it->second = v;
      }
    }
  }

  const Problem& pr_;
  const Graph& g_;
  const int n_, k_;
  const double limit_s_;
  const long max_expansions_;
  const std::chrono::steady_clock::time_point t0_;
  std::vector<int> tpos_, twin_before_;
  std::vector<int> twin_device_;  // per device: the previous device identical to it, or -1
  std::vector<double> tail_;      // per node and device
  std::vector<int> topo_;
  std::vector<double> cost_, input_, output_;  // per node and device (cost: +inf where it cannot run)
  std::vector<int> in_off_, in_src_;           // per node: its in-edges' sources, CSR
  std::vector<double> comm_;                   // per in-edge (CSR order): k x k transfer times
  std::vector<double> est_;                    // bound's scratch: earliest start per node and device
  std::vector<std::vector<Child>> kids_;       // per depth: the children being tried
  std::vector<std::vector<Job>> alone_;        // window test's scratch: per device, its confined nodes
  // Window test's scratch, per set of devices (the unplaced nodes whose windows span it): how
  // many; per device, their least earliest start and least time after; per subset of devices,
  // the sum of their least costs in it.
  std::vector<int> count_;
  std::vector<double> set_head_, set_tail_, set_cost_;
  std::vector<double> least_cost_;  // per node and set of devices: its least cost there (+inf: none)
  std::vector<int> window_;         // per unplaced node: its devices below the target (bit mask)
  std::vector<int> dev_;
  std::vector<double> fin_;
  std::vector<int> waiting_;
  std::vector<double> avail_, mem_;
  std::vector<std::vector<int>> order_;
  std::vector<int> group_device_, group_placed_;  // per colocation group: its device (-1: none yet), members placed
  std::vector<double> weights_;                   // load weightings, k per set
  std::vector<double> share_;                     // per set and node: min_d w_d p_vd
  std::vector<double> rest_;                      // per set: the unplaced nodes' shares
  double best_ = kInf;
  Mapping best_map_;
  long expansions_ = 0;
  bool stopped_ = false;
};

}  // namespace

BnbResult branch_and_bound(const Problem& pr, const Mapping* start, double time_limit_s, long max_expansions,
                           bool break_symmetry, double cutoff) {
  // The search recurses once per placed node; beyond kMaxSearchNodes it would also never finish.
  const bool searched = pr.num_nodes() <= kMaxSearchNodes;
  std::vector<double> weights;
  if (searched && pr.num_devices() > kDeviceSetsDevices && pr.num_devices() <= kFullHeadsDevices)
    weights = work_bound_weights(pr, 40, std::min(0.02, 0.1 * time_limit_s));
  Search s(pr, time_limit_s, searched ? max_expansions : 0, break_symmetry, weights);
  if (start)
    if (auto p = replay(pr, *start)) s.incumbent(*start, p->makespan_us);
  s.set_cutoff(cutoff);
  return s.run();
}

Result<SolverOutput> BnbSolver::run(const Problem& pr, const SolveContext& ctx) const {
  // The better of HEFT and fastest starts the search, so the result is never worse than both.
  std::optional<BaselinePlan> start = best_baseline(pr, ctx);
  const long budget = ctx.options.bnb_expansions > 0 ? ctx.options.bnb_expansions : 1L << 62;
  BnbResult r = branch_and_bound(pr, start ? &start->output.mapping : nullptr, ctx.seconds_left(), budget,
                                 ctx.options.symmetry != 0);
  if (!std::isfinite(r.makespan_us)) {
    if (r.complete) return infeasible("bnb: no schedule fits the devices' memory");
    return internal_error("bnb: no plan found within the time limit");
  }
  SolverOutput out;
  out.mapping = std::move(r.mapping);
  out.status = r.proven ? PlanStatus::kOptimal : PlanStatus::kFeasible;
  out.bound_us = (r.proven ? r.makespan_us : r.bound_us) * (1 - 1e-9);
  if (pr.num_nodes() > kMaxSearchNodes)
    out.notes.push_back("bnb: more than " + std::to_string(kMaxSearchNodes) +
                        " nodes, not searched: the better of HEFT and fastest");
  else
    out.notes.push_back("bnb: " + std::to_string(r.expansions) + " partial schedules" +
                        (r.proven ? ", search complete" : ", stopped at the limit"));
  return out;
}

}  // namespace diviml
