// `split`: the orchestration of module splitting (see split.hpp): modules, their pinned
// solves (pinned.cpp), multi-channel cuts (cut.cpp, segments.cpp), the min-plus DP that
// stitches them (min_plus.cpp), and the polish of an unproven result.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "diviml/cost/symmetry.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/moves.hpp"
#include "min_plus.hpp"
#include "segments.hpp"
#include "stream_split.hpp"

namespace diviml {

namespace {

using split::Arc;
using split::Layers;
using split::PinnedSolve;
using split::SegmentPlan;

// Identical modules (same costs, transfers and boundaries, node for node) share their solves.
std::string module_key(const Problem& pr, const Module& m) {
  const Graph& g = pr.graph();
  const int k = pr.num_devices();
  std::string key;
  auto put = [&](double x) { key.append(reinterpret_cast<const char*>(&x), sizeof x); };
  const std::vector<int> nodes = split::module_nodes(m);
  std::unordered_map<int, int> local;
  for (size_t i = 0; i < nodes.size(); ++i) local[nodes[i]] = static_cast<int>(i);
  put(m.entry >= 0 ? 1 : 0);
  put(m.exit >= 0 ? 1 : 0);
  put(static_cast<double>(nodes.size()));
  for (size_t i = 0; i < nodes.size(); ++i) {
    int v = nodes[i];
    bool is_entry = m.entry >= 0 && i == 0;
    for (int d = 0; d < k; ++d) {
      put(is_entry ? 0.0 : pr.cost_us(v, d));
      put(is_entry ? 0.0 : pr.input_us(v, d));
      put(g.is_sink(v) ? pr.output_us(v, d) : 0.0);
    }
    for (int e : g.out_edges(v)) {
      auto w = local.find(g.edges[e].dst);
      if (w == local.end()) continue;
      put(static_cast<double>(i));
      put(static_cast<double>(w->second));
      for (int x = 0; x < k; ++x)
        for (int y = 0; y < k; ++y) put(pr.comm_us(e, x, y));
    }
  }
  return key;
}

// A segment of a cut module as pinned problems: the channels it reads from the state before
// One run of split on a problem: the modules, their distinct groups and the boundary-pair
// tables, filled in the steps of SplitSolver::run.
class SplitRun {
 public:
  SplitRun(const Problem& pr, const SolveContext& ctx) : pr_(pr), ctx_(ctx), k_(pr.num_devices()) {
    if (ctx.options.symmetry != 0) {
      cls_ = device_classes(pr);
      for (int d = 0; d < k_; ++d) symmetric_ = symmetric_ || cls_[d] != d;
    }
  }

  // Modules, grouped (identical modules share their solves), large ones cut into segments.
  void decompose_and_cut() {
    const SolveOptions& o = ctx_.options;
    const int cap = std::max(1, o.module_size);
    splits_ = static_cast<int>(find_split_nodes(pr_.graph()).size());
    modules_ = decompose(pr_.graph(), cap);
    const int q_count = static_cast<int>(modules_.size());
    group_.assign(q_count, 0);
    std::unordered_map<std::string, int> group_of;
    for (int q = 0; q < q_count; ++q) {
      auto [it, fresh] = group_of.emplace(module_key(pr_, modules_[q]), static_cast<int>(representative_.size()));
      if (fresh) representative_.push_back(q);
      group_[q] = it->second;
    }
    const int groups = static_cast<int>(representative_.size());
    plans_.assign(groups, {});
    for (int gi = 0; gi < groups; ++gi) {
      Module& m = modules_[representative_[gi]];
      cut_module(pr_, m, cap, o.max_channels, o.cut_slack, o.exact_module_nodes);
      if (!m.segments.empty()) plans_[gi] = split::segment_plans(pr_, m);
    }
    for (int q = 0; q < q_count; ++q)
      if (representative_[group_[q]] != q && !plans_[group_[q]].empty()) {
        // Same structure node for node: map the representative's cut onto this module.
        const Module& rep = modules_[representative_[group_[q]]];
        Module& m = modules_[q];
        std::unordered_map<int, int> to;
        to[rep.entry] = m.entry;
        to[rep.exit] = m.exit;
        for (size_t i = 0; i < rep.nodes.size(); ++i) to[rep.nodes[i]] = m.nodes[i];
        for (const auto& seg : rep.segments) {
          m.segments.emplace_back();
          for (int v : seg) m.segments.back().push_back(to.at(v));
        }
        for (const auto& ch : rep.channels) {
          m.channels.emplace_back();
          for (int v : ch) m.channels.back().push_back(to.at(v));
        }
      }
  }

  // Every boundary pair (and segment combination) gets its quick solve. False when the
  // deadline came first.
  bool quick_tables() {
    table_.assign(representative_.size(), {});
    for (size_t gi = 0; gi < representative_.size(); ++gi) {
      const Module& m = modules_[representative_[gi]];
      table_[gi].resize(static_cast<size_t>(rows(m)) * cols(m));
      const bool orbits = plans_[gi].empty();  // cut modules solve every combination
      for (int a = 0; a < rows(m); ++a)
        for (int b = 0; b < cols(m); ++b) {
          int ea = m.entry >= 0 ? a : -1, eb = m.exit >= 0 ? b : -1;
          if (ea >= 0 && !pr_.can_run(m.entry, ea)) continue;
          if (eb >= 0 && !pr_.can_run(m.exit, eb)) continue;
          if (orbits && canonical_cell(m, a, b, nullptr) != a * cols(m) + b) continue;  // a twin's mirror
          if (ctx_.stopped()) return false;
          table_[gi][a * cols(m) + b] = split::quick_solve(module_problem(pr_, m, ea, eb), m.entry >= 0 ? 1 : 0, sub_);
        }
      if (orbits) fill_orbits(gi);
      // Segments: every device combination gets its quick solve now (DP on paths, else HEFT).
      for (SegmentPlan& sp : plans_[gi])
        for (int c = 0; c < static_cast<int>(sp.solves.size()); ++c) {
          if (ctx_.stopped()) return false;
          auto view = split::segment_problem(pr_, sp, c, nullptr);
          if (!view) continue;
          sp.solves[c] = split::quick_solve(*view, static_cast<int>(sp.reads.size()), sub_);
        }
      // A cut module's quick plan: the inner DP over the quick segment solves, where better.
      if (!plans_[gi].empty()) split::cut_table(pr_, m, plans_[gi], rows(m), cols(m), table_[gi], sub_);
      ctx_.report("split", "quick module plans", kInf, 0, static_cast<int>(gi) + 1,
                  static_cast<int>(representative_.size()));
    }
    return true;
  }

  // Prune before the exact solves: a pair (a, b) of module q can lie on an optimal sequence
  // only if the best bound to reach a, plus its own bound, plus the best bound from b to the
  // end, does not exceed the best plan the quick solves already give. The others keep their
  // quick plan (and bound); the optimum runs through solved pairs only, so exactness is kept.
  // Fused modules are heuristic anyway (their plans prove nothing), so they also skip pairs
  // whose best quick sequence is more than fused-slack above the best quick plan. Cut modules
  // get their exact solves per segment.
  void mark_exact() {
    const Layers layers = module_layers();
    const int q_count = static_cast<int>(modules_.size());
    const std::vector<double> start(1, 0.0), end(layers.width.back(), 0.0);
    const auto reach = split::forward(layers, start, cost(&PinnedSolve::bound_us));
    const auto rest = split::backward(layers, end, cost(&PinnedSolve::bound_us));
    const auto reach_t = split::forward(layers, start, cost(&PinnedSolve::time_us));
    const auto rest_t = split::backward(layers, end, cost(&PinnedSolve::time_us));
    const double quick_best = *std::min_element(reach_t[q_count].begin(), reach_t[q_count].end());
    const double slack = ctx_.options.fused_slack;
    needed_.assign(representative_.size(), {});
    promise_.assign(representative_.size(), {});
    for (size_t gi = 0; gi < representative_.size(); ++gi) {
      needed_[gi].assign(table_[gi].size(), 0);
      promise_[gi].assign(table_[gi].size(), kInf);
    }
    for (int q = 0; q < q_count; ++q) {
      const Module& m = modules_[q];
      if (!plans_[group_[q]].empty()) {
        // Segment sums bound the cut plan, not the module: this prunes within the heuristic.
        split::mark_segment_solves(m, plans_[group_[q]], k_, reach[q], rest[q + 1], reach_t[q], rest_t[q + 1],
                                   quick_best, slack);
        continue;
      }
      for (const Arc& arc : layers.arcs[q]) {
        const PinnedSolve& s = table_[group_[q]][arc.cell];
        // How far the best quick sequence through the pair is above the best quick plan.
        double& promise = promise_[group_[q]][arc.cell];
        promise = std::min(promise, reach_t[q][arc.from] + s.time_us + rest_t[q + 1][arc.to] - quick_best);
        if (!std::isfinite(s.bound_us) || s.proven) continue;
        bool may_be_optimal = reach[q][arc.from] + s.bound_us + rest[q + 1][arc.to] <= quick_best * (1 + 1e-9);
        bool promising = reach_t[q][arc.from] + s.time_us + rest_t[q + 1][arc.to] <= quick_best * (1 + slack);
        if (may_be_optimal && (!fused(m) || promising)) needed_[group_[q]][arc.cell] = 1;
      }
    }
    // Identical devices: a needed pair is solved as its canonical twin, and copied.
    for (size_t gi = 0; gi < representative_.size() && symmetric_; ++gi) {
      if (!plans_[gi].empty()) continue;
      const Module& m = modules_[representative_[gi]];
      for (int a = 0; a < rows(m); ++a)
        for (int b = 0; b < cols(m); ++b) {
          const int cell = a * cols(m) + b, rep = canonical_cell(m, a, b, nullptr);
          if (rep != cell && needed_[gi][cell]) needed_[gi][cell] = 0, needed_[gi][rep] = 1;
        }
    }
  }

  // Identical devices (cost/symmetry.hpp): the boundary pair (a, b) of module m is the mirror
  // image of its canonical pair (the first device of a's class; for b, the first of its class,
  // or the second when it is a's twin), under a device permutation `perm` (when given) that
  // maps the canonical pair onto (a, b): two swaps within classes. Returns the canonical cell.
  int canonical_cell(const Module& m, int a, int b, std::vector<int>* perm) const {
    if (!symmetric_) {
      if (perm) {
        perm->resize(k_);
        for (int d = 0; d < k_; ++d) (*perm)[d] = d;
      }
      return a * cols(m) + b;
    }
    auto second = [&](int c) {
      for (int d = c + 1; d < k_; ++d)
        if (cls_[d] == c) return d;
      return c;
    };
    const bool has_a = m.entry >= 0, has_b = m.exit >= 0;
    const int ra = has_a ? cls_[a] : a;
    int rb = b;
    if (has_b) rb = has_a && b != a && cls_[b] == cls_[a] ? second(cls_[b]) : (has_a && b == a ? ra : cls_[b]);
    if (perm) {
      std::vector<int>& p = *perm;
      p.resize(k_);
      for (int d = 0; d < k_; ++d) p[d] = d;
      if (has_a) std::swap(p[ra], p[a]);  // the swap (ra a)
      if (has_b) {
        // Then the swap of rb's image and b, so that rb lands on b (ra stays on a: the two
        // are distinct unless b == a, where the second swap is the identity).
        const int x = p[rb];
        for (int& v : p) v = v == x ? b : (v == b ? x : v);
      }
    }
    return ra * cols(m) + rb;
  }

  // Every non-canonical cell of group gi as its canonical cell's solve, devices permuted.
  void fill_orbits(size_t gi) {
    if (!symmetric_) return;
    const Module& m = modules_[representative_[gi]];
    std::vector<int> perm;
    for (int a = 0; a < rows(m); ++a)
      for (int b = 0; b < cols(m); ++b) {
        const int cell = a * cols(m) + b, rep = canonical_cell(m, a, b, &perm);
        if (rep == cell) continue;
        const PinnedSolve& from = table_[gi][rep];
        PinnedSolve to = from;
        for (int& d : to.device) d = d >= 0 ? perm[d] : d;
        to.order.assign(from.order.size(), {});
        for (int d = 0; d < static_cast<int>(from.order.size()); ++d) to.order[perm[d]] = from.order[d];
        table_[gi][cell] = std::move(to);
        ++mirrored_;
      }
  }

  // The exact solves (module pairs and segment combinations, each writing its own cell), in
  // parallel over the threads, each with an even share of what is left before the deadline.
  void exact_solves() {
    std::vector<std::function<void(const SolveContext&)>> tasks;
    std::vector<double> rank;  // per task: its pair's promise (lower first)
    for (size_t gi = 0; gi < representative_.size(); ++gi) {
      const Module& m = modules_[representative_[gi]];
      for (int a = 0; a < rows(m); ++a)
        for (int b = 0; b < cols(m); ++b) {
          PinnedSolve& cell = table_[gi][a * cols(m) + b];
          if (plans_[gi].empty() && canonical_cell(m, a, b, nullptr) != a * cols(m) + b) continue;  // copied after
          if (needed_[gi][a * cols(m) + b]) {
            const int ea = m.entry >= 0 ? a : -1, eb = m.exit >= 0 ? b : -1;
            rank.push_back(promise_[gi][a * cols(m) + b]);
            const int cell_index = a * cols(m) + b;
            tasks.push_back([this, &m, &cell, ea, eb, gi, cell_index](const SolveContext& c) {
              // What the pair may cost and still lie on a sequence better than the best plan
              // the table gives now; past it the pair needs no exact solve.
              const double cutoff = fused(m) ? kInf : cutoff_of(gi, cell_index);
              if (cutoff <= 0) {
                std::lock_guard<std::mutex> lock(table_mutex_);
                cell.pruned = true;
                ++pruned_;
                return;
              }
              Problem view = module_problem(pr_, m, ea, eb);
              std::vector<char> fixed(view.num_nodes(), 0);
              if (m.entry >= 0) fixed.front() = 1;
              if (m.exit >= 0) fixed.back() = 1;
              PinnedSolve quick;
              {
                std::lock_guard<std::mutex> lock(table_mutex_);
                quick = cell;
              }
              PinnedSolve exact = split::exact_solve(view, fixed, c, &quick, cutoff);
              std::lock_guard<std::mutex> lock(table_mutex_);
              if (exact.pruned && !exact.proven) ++pruned_;
              keep_better(cell, std::move(exact), true);
              table_changed_ = true;
            });
          } else if (plans_[gi].empty() && std::isfinite(cell.bound_us) && !cell.proven) {
            // Marked pruned (no proof needed) only where bounds exclude it; a fused module is
            // never proven, so its heuristic skips cannot make a proof either.
            cell.pruned = !fused(m);
            ++pruned_;
          }
        }
      for (SegmentPlan& sp : plans_[gi])
        for (int c = 0; c < static_cast<int>(sp.solves.size()); ++c)
          if (sp.exact[c]) {
            rank.push_back(0);  // a cut module's segments: no pair to rank them by
            tasks.push_back([this, &sp, c](const SolveContext& sub) {
              std::vector<char> fixed;
              auto view = split::segment_problem(pr_, sp, c, &fixed);
              keep_better(sp.solves[c], split::exact_solve(*view, fixed, sub, &sp.solves[c]), false);
            });
          }
    }
    // The most promising pairs first (those on or near the best quick sequence): when the
    // deadline cuts the phase short, the solves that can change the stitch are done.
    std::vector<size_t> by_rank(tasks.size());
    for (size_t t = 0; t < tasks.size(); ++t) by_rank[t] = t;
    std::stable_sort(by_rank.begin(), by_rank.end(), [&](size_t x, size_t y) { return rank[x] < rank[y]; });
    const double reserve = reserve_s();
    tasks_ = static_cast<int>(tasks.size());
    std::atomic<size_t> next{0};
    std::atomic<int> done{0};
    ctx_.report("split", "exact module solves", kInf, 0, 0, tasks_);
    workers_ = std::max(1, std::min<int>(ctx_.options.threads, static_cast<int>(tasks.size())));
    auto work = [&] {
      for (size_t t; (t = next.fetch_add(1)) < tasks.size();) {
        // Past the deadline (less the reserve) the remaining cells keep their quick plans.
        const double left = ctx_.seconds_left() - reserve;
        if (left <= 0) break;
        const double share = left * workers_ / static_cast<double>(tasks.size() - t);
        SolveContext c = sub_.within(std::min(share, ctx_.options.module_time_limit_s));
        c.options.threads = 1;
        tasks[by_rank[t]](c);
        ctx_.report("split", "exact module solves", kInf, 0, ++done, tasks_);
      }
    };
    if (workers_ == 1) {
      work();
    } else {
      std::vector<std::thread> pool;
      for (int w = 0; w < workers_; ++w) pool.emplace_back(work);
      for (auto& th : pool) th.join();
    }
    for (size_t gi = 0; gi < representative_.size(); ++gi)
      if (!plans_[gi].empty()) {
        const Module& m = modules_[representative_[gi]];
        split::cut_table(pr_, m, plans_[gi], rows(m), cols(m), table_[gi], sub_);
        ++cut_modules_;
      } else {
        fill_orbits(gi);
      }
  }

  // The objective's tight bound (Objective::tight_bound; the energetic bound for latency) on
  // the boundary pairs that hold split's bound down: those of the DP's least-bound sequence
  // that no solve proved, each once, until that sequence is proven or tightened throughout, its
  // bound meets the best plan, or the phase's time is out: a twentieth of the time limit (at
  // least 1 s), within the deadline less the stitch's reserve. Returns a note saying what it
  // did ("" when nothing was tried).
  std::string tighten_bounds() {
    const Layers layers = module_layers();
    const int q_count = static_cast<int>(modules_.size());
    const double reserve = reserve_s();
    const double budget = std::max(1.0, 0.05 * ctx_.options.time_limit_s);
    const auto times = split::forward(layers, {0.0}, cost(&PinnedSolve::time_us));
    const double best = *std::min_element(times[q_count].begin(), times[q_count].end());
    std::vector<std::vector<char>> tightened(table_.size());
    for (size_t gi = 0; gi < table_.size(); ++gi) tightened[gi].assign(table_[gi].size(), 0);
    const auto t0 = std::chrono::steady_clock::now();
    auto out_of_time = [&] {
      return ctx_.seconds_left() - reserve <= 0 ||
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >= budget;
    };
    // The DP's least bound, and the cells of a sequence that gives it.
    auto least = [&](std::vector<int>* arcs) {
      std::vector<std::vector<int>> via;
      const auto fb = split::forward(layers, {0.0}, cost(&PinnedSolve::bound_us), &via);
      const int last = static_cast<int>(std::min_element(fb[q_count].begin(), fb[q_count].end()) - fb[q_count].begin());
      if (arcs && std::isfinite(fb[q_count][last])) *arcs = split::path_to(layers, via, last);
      return fb[q_count][last];
    };
    const double first = least(nullptr);
    int count = 0;
    for (bool any = true; any && !out_of_time();) {
      std::vector<int> arcs;
      const double now = least(&arcs);
      if (!std::isfinite(best) || !std::isfinite(now) || meets_bound(best, now)) break;
      any = false;
      for (int q = 0; q < q_count && !out_of_time(); ++q) {
        const size_t gi = static_cast<size_t>(group_[q]);
        if (!plans_[gi].empty()) continue;  // cut modules: their segments bound nothing whole
        const Module& m = modules_[representative_[gi]];
        const int at = layers.arcs[q][arcs[q]].cell, cell = canonical_cell(m, at / cols(m), at % cols(m), nullptr);
        PinnedSolve& s = table_[gi][cell];
        if (tightened[gi][cell] || s.proven || !std::isfinite(s.time_us)) continue;
        tightened[gi][cell] = 1;
        any = true;
        ++count;
        const int a = cell / cols(m), b = cell % cols(m);
        const Problem view = module_problem(pr_, m, m.entry >= 0 ? a : -1, m.exit >= 0 ? b : -1);
        s.bound_us = std::min(s.time_us, std::max(s.bound_us, ctx_.objective->tight_bound(view, s.time_us)));
        s.proven = meets_bound(s.time_us, s.bound_us);
        fill_orbits(gi);
      }
    }
    if (count == 0) return "";
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return "split: tight bounds on " + std::to_string(count) + " unproven boundary pair(s) took split's bound from " +
           std::to_string(first) + " to " + std::to_string(least(nullptr)) + " us in " + std::to_string(s) + " s";
  }

  // The DP over modules on times (and, alongside, on bounds), and the stitched mapping.
  // False when no sequence gives a plan.
  bool stitch(SolverOutput& out, double& best_us, double& best_bound, bool& proven) {
    const Layers layers = module_layers();
    const int q_count = static_cast<int>(modules_.size());
    std::vector<std::vector<int>> via;
    const auto f = split::forward(layers, {0.0}, cost(&PinnedSolve::time_us), &via);
    const auto fb = split::forward(layers, {0.0}, cost(&PinnedSolve::bound_us));
    // The last module ends at the graph's end, or at its only sink (then on any device).
    const int last = static_cast<int>(std::min_element(f[q_count].begin(), f[q_count].end()) - f[q_count].begin());
    best_us = f[q_count][last];
    best_bound = *std::min_element(fb[q_count].begin(), fb[q_count].end());
    if (!std::isfinite(best_us)) return false;
    const std::vector<int> arcs = split::path_to(layers, via, last);
    std::vector<int> cells(q_count);
    for (int q = 0; q < q_count; ++q) cells[q] = layers.arcs[q][arcs[q]].cell;
    proven = lay_out(out, cells);
    // A module after the first is solved as if its nodes' host inputs left the host when the
    // module starts; they leave at time 0. Where one could still be on its way when the module
    // starts at the earliest any schedule lets it (the DP's bound to reach it), the module's
    // solve overstates what it costs there: its value bounds nothing, nor does the stitch.
    if (std::string late = late_host_input(fb); !late.empty()) {
      best_bound = 0;
      proven = false;
      out.notes.push_back(
          "split: " + late +
          "; the stitched value is not a bound (the static bounds stand) and no module proof is claimed");
    }
    return true;
  }

  // The first node of a module after the first whose host input may arrive after the module can
  // start (`fb`: the bound DP to reach each module), named; "" when none.
  std::string late_host_input(const std::vector<std::vector<double>>& fb) const {
    for (size_t q = 1; q < modules_.size(); ++q) {
      const double earliest = *std::min_element(fb[q].begin(), fb[q].end());
      for (int v : modules_[q].nodes)
        for (int d = 0; d < k_; ++d)
          if (pr_.can_run(v, d) && pr_.input_us(v, d) > earliest * (1 + 1e-9) + 1e-9)
            return "the host input of '" + pr_.graph().nodes[v].id + "' (module " + std::to_string(q) + ") takes " +
                   std::to_string(pr_.input_us(v, d)) + " us to '" + pr_.platform().devices[d].name + "', past the " +
                   std::to_string(earliest) + " us at which the module may start";
    }
    return {};
  }

  // The stitched mapping of the module solves `cells` (one per module, a cell of its group's
  // table), each module's schedule laid out in module order, and the modules' summaries. True
  // when every module is proven.
  bool lay_out(SolverOutput& out, const std::vector<int>& cells) {
    const int q_count = static_cast<int>(modules_.size());
    const Graph& g = pr_.graph();
    out.mapping.device.assign(g.num_nodes(), -1);
    out.mapping.order.assign(k_, {});
    out.modules.clear();
    bool proven = true;
    for (int q = 0; q < q_count; ++q) {
      const Module& m = modules_[q];
      const PinnedSolve& s = solve_of(q, cells[q]);
      const std::vector<int> nodes = split::module_nodes(m);
      for (int d = 0; d < k_; ++d)
        for (int l : s.order[d]) {
          if (m.entry >= 0 && l == 0) continue;  // placed by the previous module
          out.mapping.device[nodes[l]] = d;
          out.mapping.order[d].push_back(nodes[l]);
        }
      ModuleSummary sum;
      sum.entry = m.entry;
      sum.exit = m.exit;
      sum.size = static_cast<int>(m.nodes.size());
      sum.chain = m.chain;
      sum.fused = !m.chain && m.segments.empty() && fused(m);
      sum.segments = std::max<int>(1, static_cast<int>(m.segments.size()));
      for (const auto& ch : m.channels) sum.channels = std::max<int>(sum.channels, static_cast<int>(ch.size()));
      sum.cuts = m.channels;
      sum.proven = m.segments.empty();
      for (const PinnedSolve& x : table_[group_[q]])
        sum.proven = sum.proven && (x.proven || x.pruned || !std::isfinite(x.time_us));
      proven = proven && sum.proven;
      out.modules.push_back(sum);
    }
    return proven;
  }

  // Memory couples the modules and the DP ignores it. When the stitched plan's weights and
  // state overflow a device, the DP runs again carrying, with each state's best sequence, the
  // bytes that sequence put on every device, and refuses a module solve that would overflow
  // one: a label-setting heuristic (one label per state, the fastest that fits), not an exact
  // resource-constrained DP, so it can miss a fitting sequence. False when it finds none.
  // stitch_within(share) uses that share of each device's capacity.
  bool stitch_within_memory(SolverOutput& out) {
    single_device_solves();
    // A sequence that fills the fastest devices to the brim can leave no room for a late,
    // heavy module (an LM head): tried again with some of each device held back.
    for (double share : {1.0, 0.98, 0.95, 0.9, 0.8, 0.6})
      if (stitch_within(share, out)) return true;
    return false;
  }
  bool stitch_within(double share, SolverOutput& out) {
    const Layers layers = module_layers();
    const int q_count = static_cast<int>(modules_.size());
    struct Label {
      double time = kInf;
      std::vector<double> mem;
      int from = -1, cell = -1;  // state of the previous layer and the module solve taken
    };
    std::vector<std::vector<Label>> at(q_count + 1);
    at[0].assign(1, Label{0.0, std::vector<double>(k_, 0.0), -1, -1});
    std::vector<double> add(k_);
    for (int q = 0; q < q_count; ++q) {
      const Module& m = modules_[q];
      at[q + 1].assign(layers.width[q + 1], Label{});
      const std::vector<int> nodes = split::module_nodes(m);
      const auto& table = table_[group_[q]];
      for (const split::Arc& arc : layers.arcs[q]) {
        const Label& from = at[q][arc.from];
        if (!std::isfinite(from.time)) continue;
        // The pair's own solve, and where both ends are pinned, the solve of (b, b) with the
        // entry's tensor sent from a: a way off a full device that a time-optimal solve for
        // (a, b) does not offer (it keeps the inside on the faster end).
        std::vector<std::pair<int, double>> options = {{arc.cell, table[arc.cell].time_us}};
        if (m.entry >= 0 && m.exit >= 0 && arc.from != arc.to) {
          const int b = arc.to, same = b * cols(m) + b;
          double send = 0;
          for (int e : pr_.graph().out_edges(m.entry)) send = std::max(send, pr_.comm_us(e, arc.from, b));
          options.emplace_back(same, table[same].time_us + send);
        }
        // A module wholly on one device (a full device's way out: time-optimal solves of a
        // wide module, an LLM layer split per head, use every fast device there is).
        if (!single_[group_[q]].empty())
          for (int d = 0; d < k_; ++d) {
            const int cell = pairs(m) + arc.cell * k_ + d;
            options.emplace_back(cell, solve_of(q, cell).time_us);
          }
        for (const auto& [cell, time] : options) {
          const double t = from.time + time;
          if (!std::isfinite(t) || t >= at[q + 1][arc.to].time) continue;
          const PinnedSolve& x = solve_of(q, cell);
          bool fits = true;
          for (int d = 0; d < k_ && fits; ++d) {
            add[d] = 0;
            for (int l : x.order[d])
              if (m.entry < 0 || l != 0) add[d] += pr_.resident_bytes(nodes[l]);
            fits = from.mem[d] + add[d] <= share * pr_.capacity_bytes(d);
          }
          if (!fits) continue;
          Label next{t, from.mem, arc.from, cell};
          for (int d = 0; d < k_; ++d) next.mem[d] += add[d];
          at[q + 1][arc.to] = std::move(next);
        }
      }
    }
    int last = -1;
    for (int x = 0; x < static_cast<int>(at[q_count].size()); ++x)
      if (std::isfinite(at[q_count][x].time) && (last < 0 || at[q_count][x].time < at[q_count][last].time)) last = x;
    if (last < 0) return false;
    std::vector<int> cells(q_count);
    for (int q = q_count, x = last; q > 0; --q) {
      cells[q - 1] = at[q][x].cell;
      x = at[q][x].from;
    }
    lay_out(out, cells);
    return true;
  }

  // What the run did, for the plan's notes.
  std::string summary(double best_us) const {
    int chains = 0;
    for (const Module& m : modules_) chains += m.chain ? 1 : 0;
    return "split: " + std::to_string(splits_) + " split nodes, " + std::to_string(modules_.size()) + " modules (" +
           std::to_string(chains) + " chains by DP), " + std::to_string(representative_.size()) + " distinct, " +
           std::to_string(cut_modules_) + " of them cut into segments, " + std::to_string(tasks_) +
           " pinned exact solves (branch and bound, then the MILP where it did not finish) on " +
           std::to_string(workers_) + " thread(s) (" + std::to_string(pruned_) + " pruned by bounds, " +
           std::to_string(mirrored_) + " boundary pairs mirrored from an identical pair), DP " +
           std::to_string(best_us) + " us";
  }

  // Pinned solves whose CBC child crashed or was killed kept their quick plans: say so.
  std::string trouble_note() const {
    int troubled = 0;
    std::string first;
    auto count = [&](const PinnedSolve& x) {
      if (x.trouble.empty()) return;
      if (troubled++ == 0) first = x.trouble.front();
    };
    for (const auto& tab : table_)
      for (const PinnedSolve& x : tab) count(x);
    for (const auto& segs : plans_)
      for (const SegmentPlan& sp : segs)
        for (const PinnedSolve& x : sp.solves) count(x);
    if (troubled == 0) return "";
    return "split: " + std::to_string(troubled) + " pinned solve(s) met a CBC failure, e.g. " + first;
  }

 private:
  int rows(const Module& m) const { return m.entry >= 0 ? k_ : 1; }
  // What the stitch keeps of the limit (the stitch, the polish, and solve()'s evaluation,
  // validation and memory checks, linear in the graph): a tenth. The exact solves and the tight
  // bounds stop short of it.
  double reserve_s() const { return 0.1 * ctx_.options.time_limit_s; }
  int pairs(const Module& m) const { return rows(m) * cols(m); }
  // A module's solve by its cell: a boundary pair of its group's table, or past those, a
  // single-device solve (pair * k + device) of the memory stitch.
  const PinnedSolve& solve_of(int q, int cell) const {
    const int g = group_[q];
    const int p = pairs(modules_[q]);
    return cell < p ? table_[g][cell] : single_[g][cell - p];
  }
  // For the memory stitch: per group, boundary pair and device, the module on that device.
  void single_device_solves() {
    single_.assign(representative_.size(), {});
    for (size_t gi = 0; gi < representative_.size(); ++gi) {
      const Module& m = modules_[representative_[gi]];
      std::vector<PinnedSolve> solves(static_cast<size_t>(pairs(m)) * k_);
      for (int a = 0; a < rows(m); ++a)
        for (int b = 0; b < cols(m); ++b) {
          const int ea = m.entry >= 0 ? a : -1, eb = m.exit >= 0 ? b : -1;
          if (ea >= 0 && !pr_.can_run(m.entry, ea)) continue;
          if (eb >= 0 && !pr_.can_run(m.exit, eb)) continue;
          if (ctx_.stopped()) return;  // the stitch goes on with the groups done (empty: no options)
          const Problem view = module_problem(pr_, m, ea, eb);
          for (int d = 0; d < k_; ++d)
            solves[static_cast<size_t>(a * cols(m) + b) * k_ + d] = split::single_device_solve(view, d, sub_);
        }
      single_[gi] = std::move(solves);
    }
  }
  int cols(const Module& m) const { return m.exit >= 0 ? k_ : 1; }
  bool fused(const Module& m) const { return static_cast<int>(m.nodes.size()) > ctx_.options.exact_module_nodes; }

  // The module sequence as layers: layer q holds the device of module q's entry, arcs the
  // boundary pairs (a, b) of module q, cell a * cols + b of its group's table.
  Layers module_layers() const {
    Layers layers;
    layers.width.push_back(1);
    for (const Module& m : modules_) {
      layers.width.push_back(cols(m));
      layers.arcs.emplace_back();
      for (int a = 0; a < rows(m); ++a)
        for (int b = 0; b < cols(m); ++b) layers.arcs.back().push_back(Arc{a, b, a * cols(m) + b});
    }
    return layers;
  }
  split::ArcCost cost(double PinnedSolve::*field) const {
    return [this, field](int q, int cell) { return table_[group_[q]][cell].*field; };
  }
  // The exact solve replaces the quick one where it is no worse (the MILP starts from the
  // module's HEFT plan, so it is never worse); a module's bounds combine.
  static void keep_better(PinnedSolve& cell, PinnedSolve exact, bool combine_bounds) {
    const bool pruned = cell.pruned || exact.pruned;
    if (exact.time_us <= cell.time_us) {
      if (combine_bounds) exact.bound_us = std::max(exact.bound_us, cell.bound_us);
      cell = std::move(exact);
    } else {
      if (combine_bounds) cell.bound_us = std::max(cell.bound_us, exact.bound_us);
      cell.trouble.insert(cell.trouble.end(), exact.trouble.begin(), exact.trouble.end());
    }
    cell.pruned = pruned;
  }

  // The cutoff of pair `cell` of group gi: the best stitched plan the table gives now (T),
  // less the best bounds to reach the pair's entry device and from its exit device to the end,
  // the most over the group's modules. A pair whose optimum reaches it lies on no sequence below
  // T, so it needs no proof (<= 0: none at all). Recomputed from the table at most every 2 ms
  // (the DP is O(modules x pairs); tasks can number thousands).
  double cutoff_of(size_t gi, int cell) {
    std::lock_guard<std::mutex> lock(table_mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (table_changed_ && now - cutoff_at_ > std::chrono::milliseconds(2)) {
      const Layers layers = module_layers();
      const int q_count = static_cast<int>(modules_.size());
      const std::vector<double> start(1, 0.0), end(layers.width.back(), 0.0);
      reach_ = split::forward(layers, start, cost(&PinnedSolve::bound_us));
      rest_ = split::backward(layers, end, cost(&PinnedSolve::bound_us));
      const auto times = split::forward(layers, start, cost(&PinnedSolve::time_us));
      best_now_ = *std::min_element(times[q_count].begin(), times[q_count].end());
      table_changed_ = false;
      cutoff_at_ = now;
    }
    if (!std::isfinite(best_now_)) return kInf;
    double cutoff = -kInf;
    const Module& m = modules_[representative_[gi]];
    const int a = cell / cols(m), b = cell % cols(m);
    for (int q = 0; q < static_cast<int>(modules_.size()); ++q)
      if (group_[q] == static_cast<int>(gi))
        cutoff = std::max(cutoff, best_now_ - reach_[q][m.entry >= 0 ? a : 0] - rest_[q + 1][m.exit >= 0 ? b : 0]);
    return cutoff * (1 + 1e-9);
  }

  const Problem& pr_;
  const SolveContext& ctx_;
  const SolveContext sub_ = ctx_.for_subproblem();
  const int k_;
  int splits_ = 0, pruned_ = 0, tasks_ = 0, workers_ = 1, cut_modules_ = 0;
  long mirrored_ = 0;       // cells copied from a twin pair's solve
  std::vector<int> cls_;    // per device: the first device of its class of identical ones
  bool symmetric_ = false;  // some class has two devices (and --symmetry is not none)
  std::vector<Module> modules_;
  std::vector<int> group_, representative_;
  std::vector<std::vector<SegmentPlan>> plans_;   // per group: its segments when cut
  std::vector<std::vector<PinnedSolve>> table_;   // per group: rows x cols boundary pairs
  std::vector<std::vector<char>> needed_;         // per group and pair: gets an exact solve
  std::vector<std::vector<double>> promise_;      // per group and pair: best quick sequence through it - best
  std::vector<std::vector<PinnedSolve>> single_;  // per group: pair x device, for the memory stitch
  // The exact solves' shared view of the table (cutoff_of), under table_mutex_.
  std::mutex table_mutex_;
  bool table_changed_ = true;
  std::chrono::steady_clock::time_point cutoff_at_{};
  std::vector<std::vector<double>> reach_, rest_;
  double best_now_ = kInf;
};

// The local search's kicks after the stitch get all of --polish-time when the stitched plan is
// at least this far above its proven bound, a proportional share when closer.
constexpr double kFullPolishGap = 0.02;

// The best proven lower bound at hand: `own` (split's, when finite) and the static bound solve()
// keeps. The local search stops at a plan that meets it.
double floor_of(const Problem& pr, const SolveContext& ctx, double own = 0) {
  return std::max(std::isfinite(own) ? own : 0.0, ctx.static_bound(pr));
}

}  // namespace

Result<SolverOutput> SplitSolver::run(const Problem& pr, const SolveContext& ctx) const {
  if (ctx.objective->name() == "throughput") return split_for_throughput(pr, ctx);
  const double polish_s = ctx.options.polish_time_s;
  // When the deadline comes before every module has its quick plans, split has nothing to
  // stitch: the best baseline (improved by moves in what is left) is its answer, said so.
  auto baseline = [&](const std::string& why) -> Result<SolverOutput> {
    std::optional<BaselinePlan> best = best_baseline(pr, ctx);
    if (!best) return infeasible("split: " + why + ", and no baseline plan fits either");
    SolverOutput out = std::move(best->output);
    out.notes.insert(out.notes.begin(), "split: " + why + "; kept the best baseline");
    out.mapping = improve_by_moves(pr, std::move(out.mapping), std::min(ctx.seconds_left(), polish_s), nullptr,
                                   floor_of(pr, ctx));
    return out;
  };
  SplitRun run(pr, ctx);
  run.decompose_and_cut();
  if (!run.quick_tables()) return baseline("the time limit came before every module had a quick plan");
  ctx.report("split", "quick plans for every module");
  run.mark_exact();
  run.exact_solves();
  const std::string tightened = run.tighten_bounds();
  SolverOutput out;
  double best_us = kInf, best_bound = 0;
  bool proven = false;
  if (!run.stitch(out, best_us, best_bound, proven))
    return baseline("no sequence of boundary devices gives a plan (a module cannot be placed)");
  ctx.report("split", "stitched", best_us, proven ? best_us : best_bound);
  // Memory couples the modules; the DP ignores it, so check the stitched plan.
  const std::vector<double> mem = resident_bytes(pr, out.mapping.device);
  bool fits = true;
  for (int d = 0; d < pr.num_devices(); ++d) fits = fits && mem[d] <= pr.capacity_bytes(d);
  out.notes.push_back(run.summary(best_us));
  if (!tightened.empty()) out.notes.push_back(tightened);
  const std::string trouble = run.trouble_note();
  if (!trouble.empty()) out.notes.push_back(trouble);
  if (!fits) {
    // Stitch again within memory; keep that unless the best baseline is faster.
    SolverOutput priced;
    const bool stitched = run.stitch_within_memory(priced);
    std::optional<BaselinePlan> base = best_baseline(pr, ctx);
    auto value = [&](const SolverOutput& o) {
      auto p = ctx.objective->evaluate(pr, o.mapping);
      return p ? ctx.score(*p) : kInf;
    };
    if (stitched && (!base || value(priced) <= value(base->output))) {
      priced.notes = out.notes;
      priced.notes.push_back(
          "split: the stitched plan overflowed a device's memory_bytes; the DP again, refusing module "
          "solves that overflow a device, made it fit");
      priced.status = PlanStatus::kFeasible;
      if (std::isfinite(best_bound)) priced.bound_us = best_bound * (1 - 1e-9);
      priced.mapping = improve_by_moves(pr, std::move(priced.mapping), std::min(ctx.seconds_left(), polish_s), nullptr,
                                        floor_of(pr, ctx, best_bound));
      return priced;
    }
    auto best = baseline(
        "the stitched plan overflows a device's memory_bytes (modules are solved without the "
        "global capacity)" +
        std::string(stitched ? ", and the best baseline (" + std::to_string(value(base->output)) +
                                   ") beats the stitch within memory (" + std::to_string(value(priced)) + ")"
                             : ", and no stitch within memory was found"));
    if (best) {
      best->modules = std::move(out.modules);
      if (!trouble.empty()) best->notes.push_back(trouble);
    }
    return best;
  }
  out.status = proven ? PlanStatus::kOptimal : PlanStatus::kFeasible;
  if (std::isfinite(best_bound)) out.bound_us = best_bound * (1 - 1e-9);
  if (!proven) {
    // The modules were solved apart: a local search across them can still pay (a short
    // branch that a cut or a module boundary kept from hiding behind a long path). It can win
    // at most the gap to the proven bound: within kFullPolishGap of it, its kicks get that
    // share of its time (its descents keep all of it).
    auto before = ctx.objective->evaluate(pr, out.mapping);
    const double floor = floor_of(pr, ctx, best_bound);
    const double gap = before && floor > 0 ? std::max(0.0, 1 - floor / before->makespan_us) : 1.0;
    const double share = std::min(1.0, gap / kFullPolishGap);
    MoveCounts kept;
    out.mapping = improve_by_moves(pr, std::move(out.mapping), std::min(ctx.seconds_left(), polish_s), &kept, floor,
                                   share * polish_s);
    auto after = ctx.objective->evaluate(pr, out.mapping);
    if (before && after && after->makespan_us < before->makespan_us)
      out.notes.push_back("split: local search (" + std::to_string(kept.nodes) + " node moves, " +
                          std::to_string(kept.branches) + " branch moves, " + std::to_string(kept.resequenced) +
                          " re-sequencings, " + std::to_string(kept.kicks) +
                          " kicks that paid) took the stitched plan from " + std::to_string(before->makespan_us) +
                          " to " + std::to_string(after->makespan_us) + " us");
  }
  return out;
}

}  // namespace diviml
