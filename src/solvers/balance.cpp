#include "diviml/solvers/balance.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "diviml/cost/symmetry.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/replicas.hpp"
#include "diviml/solvers/stages.hpp"
#include "diviml/solvers/streams.hpp"
#include "load_search.hpp"

namespace diviml {

namespace {

constexpr int kMaxLanes = 4;
constexpr int kMaxPasses = 50;
constexpr long kMaxClassTasks = 4000;

// Each node's shares of the period LP dealt into `lanes` lanes: per node, devices get their
// share times lanes, rounded by largest remainder. Which lane gets which device is then chosen
// lane by lane in topological order: a node stays on the device its heaviest input comes from
// in that lane while that device has lanes of it left, else takes the device with the most left.
// Dealt in device order instead, nodes whose shares differ land on unrelated devices in every
// lane: GPT-2 small on six-srv (29 devices) started at a round load of 38,728 us of copies,
// against 1,568 us after the search.
//
// With `by_class`, the shares of identical devices (cost/symmetry.hpp) are summed and dealt to
// their class as above; then each node's lanes in a class take its devices in turn, in lane
// order. Consecutive nodes dealt the same lanes of a class keep each lane on one device (no
// copy), and a lane that moves between two classes of several devices each does so over
// different links in different lanes: the LP's plans specialise ops by GPU type, and their
// copies between servers must spread over many links to fit (VGG-16 on six-srv).
std::vector<int> round_shares(const Problem& pr, const std::vector<double>& share, int lanes, bool by_class) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  std::vector<int> of(k);
  std::iota(of.begin(), of.end(), 0);
  if (by_class) of = device_classes(pr);
  std::vector<int> device(static_cast<size_t>(lanes) * n);
  std::vector<int> left(static_cast<size_t>(n) * k);  // lanes of node v still to deal to device (class) d
  std::vector<double> want(k);
  std::vector<std::pair<double, int>> rest;
  for (int v = 0; v < n; ++v) {
    int* count = &left[static_cast<size_t>(v) * k];
    std::fill(want.begin(), want.end(), 0.0);
    for (int d = 0; d < k; ++d) want[of[d]] += share[static_cast<size_t>(v) * k + d] * lanes;
    int dealt = 0;
    rest.clear();
    for (int d = 0; d < k; ++d) {
      if (of[d] != d) continue;
      count[d] = std::min(lanes, static_cast<int>(std::floor(want[d] + 1e-9)));
      dealt += count[d];
      rest.emplace_back(-(want[d] - count[d]), d);
    }
    std::sort(rest.begin(), rest.end());
    for (size_t i = 0; dealt < lanes; i = (i + 1) % rest.size(), ++dealt) ++count[rest[i].second];
  }
  for (int l = 0; l < lanes; ++l) {
    int* lane = &device[static_cast<size_t>(l) * n];
    for (int v : g.topo_order()) {
      int* count = &left[static_cast<size_t>(v) * k];
      int pick = -1;
      double heaviest = -1;
      for (int e : g.in_edges(v))
        if (g.edges[e].bytes > heaviest && count[lane[g.edges[e].src]] > 0)
          heaviest = g.edges[e].bytes, pick = lane[g.edges[e].src];
      if (pick < 0) pick = static_cast<int>(std::max_element(count, count + k) - count);
      --count[pick];
      lane[v] = pick;
    }
  }
  if (!by_class) return device;
  std::vector<std::vector<int>> members(k);
  for (int d = 0; d < k; ++d) members[of[d]].push_back(d);
  std::vector<int> turn(k);
  for (int v = 0; v < n; ++v) {
    std::fill(turn.begin(), turn.end(), 0);
    for (int l = 0; l < lanes; ++l) {
      int& d = device[static_cast<size_t>(l) * n + v];
      const auto& m = members[d];
      d = m[turn[d]++ % m.size()];
    }
  }
  return device;
}

}  // namespace

Result<SolverOutput> BalanceSolver::run(const Problem& pr, const SolveContext& ctx) const {
  const StagesSolver stages_;
  const ReplicasSolver replicas_;
  const int n = pr.num_nodes(), k = pr.num_devices();
  std::mt19937_64 rng(ctx.options.seed);
  StreamBest<std::pair<Realized, std::string>> best;  // (realised decision, note)
  std::string why;
  // Realising a choice replays it several times, at a cost about proportional to the task
  // instances a replay simulates (a choice of t tasks: 1000 inputs' worth up to 1.5e5 of them,
  // at least 8 rounds; pipeline_replay.cpp): the search stops early enough to leave twice the
  // most seconds per instance seen times the instances of the largest choice (lanes x nodes)
  // met, and a tenth of the limit, for the final realisations.
  auto instances = [](size_t tasks) {
    const double t = static_cast<double>(tasks);
    return std::max(std::min(1000 * t, 1.5e5), 8 * t);
  };
  double realize_s = 0, per_instance_s = 0;
  size_t most_tasks = static_cast<size_t>(n);
  const double reserve_s = 0.1 * ctx.seconds_left();
  auto consider = [&](const std::vector<int>& device, const std::string& note) {
    const auto t0 = SolveContext::Clock::now();
    auto r = realize_pipeline(pr, ctx, device, &why);
    const double took = std::chrono::duration<double>(SolveContext::Clock::now() - t0).count();
    realize_s = std::max(realize_s, took);
    per_instance_s = std::max(per_instance_s, took / instances(device.size()));
    if (r) best.offer(r->rank, {std::move(*r), note});
  };
  auto out_of_time = [&] {
    return !best.empty() &&
           ctx.seconds_left() < std::max({2 * realize_s, 2 * per_instance_s * instances(most_tasks), reserve_s});
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
  // Where copies between servers share NICs, the LP by server sees them (the LP without copies
  // spreads ops over every server as if tensors crossed for free): its shares start first.
  const double lp_s = std::min(ctx.seconds_left() / 10, ctx.options.bound_lp_time_s);
  std::vector<std::pair<std::string, PeriodLp>> lps;
  if (pr.platform().has_shared_server_links()) lps.emplace_back("period LP by server", server_period_lp(pr, lp_s));
  lps.emplace_back("period LP", period_lp(pr, lp_s, false));
  std::vector<std::pair<std::string, std::vector<int>>> rounded;
  for (const auto& [what, lp] : lps) {
    if (lp.share.empty()) continue;
    std::vector<int> counts{1, 2, 4, k};
    std::sort(counts.begin(), counts.end());
    counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
    for (int lanes : counts)
      rounded.emplace_back(what + " rounded into " + std::to_string(lanes) + " lane(s)",
                           round_shares(pr, lp.share, lanes, false));
    // By classes of identical devices, where there are some: as many lanes as devices, and
    // twice, up to kMaxClassTasks tasks (the descents from them are long: on DenseNet-121 on
    // six-srv, 29 x 430 tasks, they left the other starts no time).
    if (!identical_groups(pr).empty())
      for (int lanes : {k, 2 * k})
        if (static_cast<long>(lanes) * n <= kMaxClassTasks)
          rounded.emplace_back(what + " rounded by device class into " + std::to_string(lanes) + " lane(s)",
                               round_shares(pr, lp.share, lanes, true));
  }
  starts.insert(starts.begin(), rounded.begin(), rounded.end());
  for (const Solver* solver : {static_cast<const Solver*>(&stages_), static_cast<const Solver*>(&replicas_)}) {
    auto o = shared_run(*solver, pr, ctx.within(ctx.seconds_left() / 4));
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
  auto descend = [&](LoadSearch& search, int& passes) {
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
  // The descent from the start of least load per input first, then the others in the order
  // built (the LP's roundings first): where one descent takes the whole limit (many devices,
  // many lanes), it runs from the best start. ResNet-18 on six-srv: the period LP's 58-lane
  // rounding, at 140 us per input, took the whole of 10 s and ended at 39.4 us, while the
  // replicas start was at 41.8 and descends to 29.2.
  size_t first = 0;
  double least = kInf;
  for (size_t i = 0; i < starts.size(); ++i) {
    const double lanes = static_cast<double>(std::max<size_t>(1, starts[i].second.size() / n));
    if (const double load = LoadSearch(pr, starts[i].second).max_load() / lanes; load < least) least = load, first = i;
  }
  std::vector<size_t> order{first};
  for (size_t i = 0; i < starts.size(); ++i)
    if (i != first) order.push_back(i);
  for (size_t i : order) {
    const auto& [label, start] = starts[i];
    if (out_of_time()) break;
    const int lanes = static_cast<int>(start.size()) / n;
    LoadSearch search(pr, start);
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
      LoadSearch search(pr, elite);
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
  // Every choice whose load could come within the tolerance of the best period realised (a
  // period is never below its load), least load first: the rule then picks the least latency.
  for (size_t i = 0; i < found.size(); ++i) {
    if (!std::isfinite(found[i].load) ||
        (!best.empty() && best.best_rank()->fits && found[i].load > best.least_period() * (1 + kPeriodTolerance)))
      break;
    if (i > 0 && !best.empty() &&
        ctx.seconds_left() < std::max(1.5 * realize_s, 1.5 * per_instance_s * instances(found[i].device.size())))
      break;  // the first always
    consider(found[i].device, found[i].note);
  }
  if (best.empty()) return infeasible("balance: no start or search result gives a plan (" + why + ")");
  auto [realized, note] = best.take();
  SolverOutput out = std::move(realized.output);
  out.notes.push_back(note + (realized.step > 0 ? "; delays step " + std::to_string(realized.step) : ""));
  return out;
}

}  // namespace diviml
