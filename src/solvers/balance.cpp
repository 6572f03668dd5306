#include "diviml/solvers/balance.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "diviml/objective/throughput.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/replicas.hpp"
#include "diviml/solvers/stages.hpp"
#include "diviml/solvers/streams.hpp"

namespace diviml {

namespace {

constexpr int kMaxLanes = 4;
constexpr int kMaxPasses = 50;

// Resource loads of a lane-by-node device choice, kept under single-task moves.
class Search {
 public:
  Search(const Problem& pr, std::vector<int> device)
      : pr_(pr),
        g_(pr.graph()),
        n_(pr.num_nodes()),
        k_(pr.num_devices()),
        host_(pr.platform().host),
        dev_(std::move(device)) {
    lanes_ = static_cast<int>(dev_.size()) / n_;
    load_.assign(k_ + static_cast<size_t>(k_) * k_, 0.0);
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

 private:
  int res_device(int d) const { return d; }
  int res_link(int a, int b) const { return k_ + a * k_ + b; }
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
  // A copy occupies its link, and each end whose copies do not overlap compute.
  void copy(int a, int b, double delta) {
    add(res_link(a, b), delta);
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
  bool initialised_ = false;
  std::vector<std::pair<int, double>> scratch_;
  std::vector<int> producers_;
};

// Each node's shares of the period LP dealt into `lanes` lanes: per node, devices get their
// share times lanes, rounded by largest remainder, and take the lanes in device order (nodes
// with equal shares share lanes, so rounding adds no copies between them).
std::vector<int> round_shares(const Problem& pr, const std::vector<double>& share, int lanes) {
  const int n = pr.num_nodes(), k = pr.num_devices();
  std::vector<int> device(static_cast<size_t>(lanes) * n);
  std::vector<int> count(k);
  std::vector<std::pair<double, int>> rest;
  for (int v = 0; v < n; ++v) {
    int dealt = 0;
    rest.clear();
    for (int d = 0; d < k; ++d) {
      const double want = share[static_cast<size_t>(v) * k + d] * lanes;
      count[d] = std::min(lanes, static_cast<int>(std::floor(want + 1e-9)));
      dealt += count[d];
      rest.emplace_back(-(want - count[d]), d);
    }
    std::sort(rest.begin(), rest.end());
    for (int i = 0; dealt < lanes; i = (i + 1) % k, ++dealt) ++count[rest[i].second];
    int l = 0;
    for (int d = 0; d < k; ++d)
      for (int c = 0; c < count[d] && l < lanes; ++c) device[static_cast<size_t>(l++) * n + v] = d;
  }
  return device;
}

}  // namespace

Result<SolverOutput> BalanceSolver::run(const Problem& pr, const SolveContext& ctx) const {
  const StagesSolver stages_;
  const ReplicasSolver replicas_;
  const int n = pr.num_nodes(), k = pr.num_devices();
  std::mt19937_64 rng(ctx.options.seed);
  std::optional<Realized> best;
  std::string best_note, why;
  // Realising a choice replays it several times, at a cost about proportional to its tasks: the
  // search stops early enough to leave twice the most seconds per task seen times the largest
  // choice (lanes x nodes) met, and a tenth of the limit, for the final realisations.
  double realize_s = 0, per_task_s = 0;
  size_t most_tasks = static_cast<size_t>(n);
  const double reserve_s = 0.1 * ctx.seconds_left();
  auto consider = [&](const std::vector<int>& device, const std::string& note) {
    const auto t0 = SolveContext::Clock::now();
    auto r = realize_pipeline(pr, ctx, device, &why);
    const double took = std::chrono::duration<double>(SolveContext::Clock::now() - t0).count();
    realize_s = std::max(realize_s, took);
    per_task_s = std::max(per_task_s, took / std::max<size_t>(1, device.size()));
    if (r && (!best || r->score < best->score * (1 - 1e-9))) best = std::move(r), best_note = note;
  };
  auto out_of_time = [&] {
    return best && ctx.seconds_left() < std::max({2 * realize_s, 2 * per_task_s * most_tasks, reserve_s});
  };

  // The fallback, realised first: the best single-device or list-scheduled plan.
  std::vector<std::pair<std::string, std::vector<int>>> starts;
  if (auto base = best_baseline(pr, ctx)) {
    consider(base->output.mapping.device, "balance: start " + base->solver);
    starts.emplace_back(base->solver, base->output.mapping.device);
  }
  // Starts: the period LP's shares rounded into 1, 2, 4 and k lanes (the LP spreads work where
  // it is cheapest, so these start near the bound); the pipeline DP's and the data-parallel
  // baseline's plans; replicas by speed over 1..4 lanes (devices ranked by their whole-model
  // compute; a device that cannot run a node still starts with it, the search moves it away
  // when it can).
  const PeriodLp lp = period_lp(pr, std::min(ctx.seconds_left() / 10, ctx.options.bound_lp_time_s), false);
  if (!lp.share.empty()) {
    std::vector<int> counts{1, 2, 4, k};
    std::sort(counts.begin(), counts.end());
    counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
    std::vector<std::pair<std::string, std::vector<int>>> rounded;
    for (int lanes : counts)
      rounded.emplace_back("period LP rounded into " + std::to_string(lanes) + " lane(s)",
                           round_shares(pr, lp.share, lanes));
    starts.insert(starts.begin(), rounded.begin(), rounded.end());
  }
  for (const Solver* solver : {static_cast<const Solver*>(&stages_), static_cast<const Solver*>(&replicas_)}) {
    if (solver == &stages_ && k > StagesSolver::kMaxDevices) continue;
    auto o = solver->run(pr, ctx.within(ctx.seconds_left() / 4));
    if (o) starts.emplace_back(solver->name(), o->mapping.device);
  }
  std::vector<std::pair<double, int>> speed;
  for (int d = 0; d < k; ++d) {
    double work = 0;
    for (int v = 0; v < n; ++v) work += pr.can_run(v, d) ? pr.cost_us(v, d) : 1e12;
    speed.emplace_back(work, d);
  }
  std::sort(speed.begin(), speed.end());
  for (int lanes = 1; lanes <= std::min(kMaxLanes, k); ++lanes) {
    std::vector<double> rate;
    for (int i = 0; i < lanes; ++i) rate.push_back(1.0 / std::max(speed[i].first, 1e-12));
    std::vector<int> lane_dev = lane_order(deal_lanes(rate, lanes));
    std::vector<int> device(static_cast<size_t>(lanes) * n);
    for (int l = 0; l < lanes; ++l)
      for (int v = 0; v < n; ++v) device[l * n + v] = speed[lane_dev[l]].second;
    starts.emplace_back(std::to_string(lanes) + " replica lane(s)", std::move(device));
  }
  // Steepest single-task moves until none lowers (max load, sum of squares); the moves made.
  auto descend = [&](Search& search, int& passes) {
    std::vector<int> tasks(search.device().size());
    std::iota(tasks.begin(), tasks.end(), 0);
    int moved = 0;
    passes = 0;
    for (bool improved = true; improved && passes < kMaxPasses && !out_of_time(); ++passes) {
      improved = false;
      std::shuffle(tasks.begin(), tasks.end(), rng);
      for (size_t i = 0; i < tasks.size(); ++i) {
        if ((i & 63) == 0 && out_of_time()) break;
        const int t = tasks[i];
        const double m = search.max_load(), s = search.sumsq();
        const auto [nm, ns, b] = search.best_move(t);
        if (b < 0) continue;
        if (nm < m * (1 - 1e-9) || (nm <= m * (1 + 1e-12) && ns < s * (1 - 1e-9))) {
          search.move(t, b);
          improved = true;
          ++moved;
        }
      }
    }
    return moved;
  };
  // Choices found, realised at the end by least load per input (no period is below it, so
  // the realisations stop at the first load at or above the best period).
  struct Candidate {
    double load;
    std::vector<int> device;
    std::string note;
  };
  std::vector<Candidate> found;
  for (const auto& [label, start] : starts) most_tasks = std::max(most_tasks, start.size());
  for (const auto& [label, start] : starts) {
    if (out_of_time()) break;
    const int lanes = static_cast<int>(start.size()) / n;
    Search search(pr, start);
    const double before = search.max_load();
    found.push_back({before / lanes, start, "balance: start " + label});
    int passes = 0;
    const int moved = descend(search, passes);
    if (moved > 0)
      found.push_back({search.max_load() / lanes, search.device(),
                       "balance: from " + label + ", " + std::to_string(moved) + " move(s) in " +
                           std::to_string(passes) + " pass(es), round load " + std::to_string(before) + " -> " +
                           std::to_string(search.max_load()) + " us over " + std::to_string(lanes) + " lane(s)"});
  }
  // Iterated local search with the time left from the least load found (the descents end in
  // local optima where moving one task adds two copies): move a run of up to 8 consecutive
  // tasks of one lane (in topological order) to one device, descend again, keep the result
  // when its load per input is lower. Single moves cannot cross that barrier.
  auto elite_it = std::min_element(found.begin(), found.end(),
                                   [](const Candidate& a, const Candidate& b) { return a.load < b.load; });
  if (elite_it != found.end() && std::isfinite(elite_it->load)) {
    std::vector<int> elite = elite_it->device;
    double elite_load = elite_it->load;
    const int lanes = static_cast<int>(elite.size()) / n;
    const auto& topo = pr.graph().topo_order();
    int kicks = 0, kept = 0, stale = 0;
    // Ends at the limit, or after 200 + 2 x tasks kicks in a row without a gain (small
    // instances end in milliseconds instead of using the whole limit).
    const int patience = 200 + 2 * static_cast<int>(elite.size());
    while (!out_of_time() && !ctx.stopped() && kicks < 100000 && stale < patience) {
      ++kicks;
      ++stale;
      Search search(pr, elite);
      const int l = static_cast<int>(rng() % lanes), len = 1 + static_cast<int>(rng() % 8);
      const int from = static_cast<int>(rng() % n), b = static_cast<int>(rng() % k);
      for (int i = from; i < std::min(n, from + len); ++i) {
        const int t = l * n + topo[i];
        if (search.device()[t] != b && search.allowed(t, b)) search.move(t, b);
      }
      int passes = 0;
      descend(search, passes);
      if (search.max_load() / lanes < elite_load * (1 - 1e-9)) {
        elite_load = search.max_load() / lanes, elite = search.device();
        ++kept;
        stale = 0;
      }
    }
    if (kept > 0)
      found.push_back({elite_load, elite,
                       "balance: iterated local search, " + std::to_string(kept) + " of " + std::to_string(kicks) +
                           " kick(s) kept, load per input " + std::to_string(elite_load) + " us over " +
                           std::to_string(lanes) + " lane(s)"});
  }
  std::stable_sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) { return a.load < b.load; });
  for (size_t i = 0; i < found.size(); ++i) {
    if (!std::isfinite(found[i].load) || (best && found[i].load >= best->score * (1 - 1e-9))) break;
    if (i > 0 && best && ctx.seconds_left() < std::max(1.5 * realize_s, 1.5 * per_task_s * found[i].device.size()))
      break;  // the first always
    consider(found[i].device, found[i].note);
  }
  if (!best) return infeasible("balance: no start or search result gives a plan (" + why + ")");
  SolverOutput out = std::move(best->output);
  out.notes.push_back(best_note + (best->step > 0 ? "; delays step " + std::to_string(best->step) : ""));
  return out;
}

Result<SolverOutput> shared_balance(const Problem& pr, const SolveContext& ctx) {
  auto make = [&] { return BalanceSolver().run(pr, ctx); };
  if (!ctx.cache) return make();
  return ctx.cache->get<Result<SolverOutput>>(pr, "balance/" + ctx.objective->name(), make);
}

}  // namespace diviml
